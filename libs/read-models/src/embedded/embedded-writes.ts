import { useWal } from '@deals/platform';
import type Database from 'better-sqlite3';
import { type NetChanges, projectionNamespace } from '../adapter-rules';
import type { Checkpoint } from '../read-model-store.port';
import type { Statements } from './embedded-statements';

/** Index names a connection remembers the numbers of; one index per deal (audit) would otherwise keep every deal's name. */
const maxRememberedNames = 100_000;
/** Changes a reader may fall behind by and still drop only the documents they name, rather than all it keeps. */
const keptChanges = 65_536;
/** Written in place of a document's id when a commit changed documents without naming them: a catch-up's, or a reset. */
export const everyDocument = '*';

export const scoreIndex = 'CREATE INDEX index_entries_by_score ON index_entries (name_id, score, member)';

/** How every connection to a read-model file is set up, the store's and its catch-up thread's. */
export function useReadModelPragmas(db: Database.Database, path: string): void {
  useWal(db, path, 5_000);
  db.pragma('synchronous = NORMAL');
  // Checkpoints every 40 MB of WAL rather than 4 MB: a rebuild rewrites the same pages (index tails,
  // chain heads) commit after commit, and each checkpoint copies them and fsyncs the file once more.
  db.pragma('wal_autocheckpoint = 10000');
  // One helper thread for SQLite's large sorts (the merge of staged entries, the score index built
  // afresh): the merge holds the caller's thread with the second core idle. Small sorts never use it.
  db.pragma('threads = 1');
}

/**
 * What writes to a read-model file (see EmbeddedReadModelStore for the layout and for staging): a
 * commit, the merge of a projection's staged index entries, a reset. One per connection: the store's
 * own, and its catch-up thread's (catch-up-thread.ts), each remembering the numbers of the names it
 * has seen.
 */
export class EmbeddedWrites {
  /** Merges a projection's staged index entries; nothing when none are staged. */
  readonly unstage: Database.Transaction<(projection: string) => void>;
  /** Removes a projection's documents, counters, index entries and checkpoint. */
  readonly clear: Database.Transaction<(projection: string) => void>;
  private readonly write: Database.Transaction<
    (projection: string, changes: NetChanges, checkpoint: Checkpoint, looked: Map<string, number>, catchingUp: boolean) => void
  >;
  /** Index name → its number in `names`, for names known committed; emptied when it grows too large. */
  private readonly nameIds = new Map<string, number>();

  constructor(
    db: Database.Database,
    private readonly statements: Statements,
  ) {
    // Dropped and built again around a change to at least as many entries as it leaves alone: one sort
    // of what is left, rather than an insert or delete at a random place per entry (see EmbeddedReadModelStore).
    const withScoreIndex = (rebuild: boolean, change: () => void) => {
      if (rebuild) db.exec('DROP INDEX index_entries_by_score');
      change();
      if (rebuild) db.exec(scoreIndex);
    };
    const mergeStaged = (projection: string) => {
      const staged = statements.staging.get(projection);
      if (staged === undefined) return;
      const [from, to] = namesOf(projection);
      // Numbered by the commit that staged the first entry (see write), or by the upgrade to version 6.
      const projectionId = this.nameId(from);
      if (projectionId === undefined) throw new Error(`The projection ${projection} stages entries but has no number`);
      const larger = (statements.entriesUpTo.get(staged.changes)?.n ?? 0) < staged.changes;
      withScoreIndex(larger, () => statements.mergeStaged.run(projectionId, from, to));
      if (statements.othersStaging.get(projection) === undefined) statements.dropAllStaged.run();
      else statements.dropStaged.run(from, to);
      statements.stopStaging.run(projection);
    };
    this.unstage = db.transaction(mergeStaged);
    // Every change to a document is logged in its commit, so that each connection knows which of the
    // documents it keeps to drop (cachedDocument); the oldest are pruned as the log grows.
    const logChange = (collection: string, id: string) => {
      const seq = Number(statements.logChange.run(collection, id).lastInsertRowid);
      if (seq % 4_096 === 0) statements.pruneChanges.run(seq - keptChanges);
    };
    this.write = db.transaction((projection: string, changes: NetChanges, checkpoint: Checkpoint, looked: Map<string, number>, catchingUp: boolean) => {
      let staging = statements.staging.get(projection) !== undefined;
      if (staging && !catchingUp) {
        mergeStaged(projection);
        staging = false;
      } else if (!staging && catchingUp && statements.checkpoint.get(projection) === undefined) {
        statements.startStaging.run(projection);
        staging = true;
      }
      let changedDocuments = false;
      for (const [collection, documents] of changes.documents) {
        for (const [id, json] of documents) {
          if (json === null) statements.deleteDocument.run(collection, id);
          else statements.putDocument.run(collection, id, json);
          // A catch-up writes many documents that no reader is asking about yet: one row tells readers to drop them all.
          if (!catchingUp) logChange(collection, id);
          changedDocuments = true;
        }
      }
      if (catchingUp && changedDocuments) logChange(everyDocument, everyDocument);
      if (changes.counters.size > 0) {
        // Every field this commit changes carries its stamp, so that a reader can ask for only those (countersSince).
        const stamp = statements.nextCounterStamp.get()!;
        for (const [counter, fields] of changes.counters) {
          for (const [field, by] of fields) statements.increment.run(counter, field, by, stamp);
        }
      }
      let stagedChanges = 0;
      let projectionId: number | undefined;
      for (const [index, members] of changes.indexes) {
        // Numbered while staging too: the merge keys the entries by it.
        projectionId ??= this.writableNameId(projectionNamespace(projection), looked);
        const nameId = this.writableNameId(index, looked);
        for (const [member, score] of members) {
          if (staging) {
            statements.stage.run(nameId, member, score);
            stagedChanges++;
          } else if (score === null) statements.unindex.run(projectionId, member, nameId);
          else statements.index.run(projectionId, member, nameId, score);
        }
      }
      if (stagedChanges > 0) statements.countStaged.run(stagedChanges, projection);
      statements.putCheckpoint.run(
        projection,
        checkpoint.position.commit.toString(),
        checkpoint.position.prepare.toString(),
        checkpoint.eventsProcessed,
        checkpoint.lastRecordedAt,
      );
    });
    this.clear = db.transaction((projection: string) => {
      const [from, to] = namesOf(projection);
      statements.resetDocuments.run(from, to);
      logChange(everyDocument, everyDocument);
      // Deleted fields carry no stamp: an ask from before the reset is answered whole.
      if (statements.resetCounters.run(from, to).changes > 0) statements.stampReset.run();
      // No number: the projection never wrote an index entry.
      const projectionId = this.nameId(from);
      const own = projectionId === undefined ? 0 : (statements.entriesOf.get(projectionId)?.n ?? 0);
      if (projectionId !== undefined && own > 0) {
        const most = (statements.entriesUpTo.get(4 * own + 1)?.n ?? 0) <= 4 * own;
        withScoreIndex(most, () => statements.resetIndexes.run(projectionId));
      }
      statements.dropStaged.run(from, to);
      statements.stopStaging.run(projection);
      statements.resetCheckpoint.run(projection);
    });
  }

  /** The changes and the checkpoint in one transaction, IMMEDIATE: another writer makes it wait, not fail. */
  commit(projection: string, changes: NetChanges, checkpoint: Checkpoint, catchingUp: boolean): void {
    const looked = new Map<string, number>();
    this.write.immediate(projection, changes, checkpoint, looked, catchingUp);
    // Remembered once committed: a rollback would take new names back, and their numbers could go to others.
    for (const [name, id] of looked) this.remember(name, id);
  }

  /** The number of a name (an index's, or a projection's namespace), adding it when it is new; runs inside a commit. */
  private writableNameId(name: string, looked: Map<string, number>): number {
    const id = this.nameIds.get(name) ?? this.statements.nameId.get(name)?.id ?? this.statements.addName.get(name)?.id;
    if (id === undefined) throw new Error(`Cannot number the index name ${name}`);
    looked.set(name, id);
    return id;
  }

  /** The number of a name (an index's, or a projection's namespace), or undefined when no commit has written it yet. */
  nameId(name: string): number | undefined {
    const known = this.nameIds.get(name);
    if (known !== undefined) return known;
    const id = this.statements.nameId.get(name)?.id;
    if (id !== undefined) this.remember(name, id);
    return id;
  }

  private remember(name: string, id: number): void {
    // Bounded: one index per deal (audit) would otherwise keep every deal's name in memory.
    if (this.nameIds.size >= maxRememberedNames) this.nameIds.clear();
    this.nameIds.set(name, id);
  }
}

/**
 * The bounds of every name a projection owns: from `p:` (inclusive) to `p;` (exclusive), since ';'
 * follows ':' in byte order, so a range on a primary key with no LIKE wildcard to escape.
 */
export function namesOf(projection: string): [from: string, to: string] {
  return [projectionNamespace(projection), `${projection};`];
}
