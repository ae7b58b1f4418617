import { setImmediate as nextTurn } from 'node:timers';
import { setImmediate } from 'node:timers/promises';
import { ensureSqliteSchema, RecentMap, useWal } from '@deals/platform';
import Database from 'better-sqlite3';
import {
  counterFields,
  countLimit,
  frozenDocument,
  mergedScores,
  netChanges,
  type NetChanges,
  nonNegativeInteger,
  positiveInteger,
  projectionNamespace,
  rangeOffset,
  roundCounter,
  validCheckpoint,
} from '../adapter-rules';
import type {
  Checkpoint,
  CommitOptions,
  GetOptions,
  IndexEntry,
  JsonObject,
  RangeOptions,
  ReadModelChange,
  ReadModelStore,
  ScoreRangeOptions,
} from '../read-model-store.port';

const schemaVersion = 6;
const defaultScanPageSize = 500;
const maxRememberedNames = 100_000;
/**
 * Documents a connection keeps between reads: about 10 MB of deals' timelines and pipeline rows as
 * JSON, and up to about 15 MB more for those read frozen, parsed (20,000 timelines: 11 MB, 16 MB).
 */
const cachedDocuments = 20_000;
/** Changes a reader may fall behind by and still drop only the documents they name, rather than all it keeps. */
const keptChanges = 65_536;
/** How many change rows a reader applies one by one before it drops everything instead. */
const maxChangesApplied = 10_000;
/** Written in place of a document's id when a commit changed documents without naming them: a catch-up's, or a reset. */
const everyDocument = '*';
/** A document's key in a connection's document cache. */
const documentKey = (collection: string, id: string): string => `${collection}\u0000${id}`;

interface CheckpointRow {
  readonly commit_position: string;
  readonly prepare_position: string;
  readonly events_processed: number;
  readonly last_recorded_at: string;
}

interface EntryRow {
  readonly member: string;
  readonly score: number;
}

/** Bounds and keyset cursor of a range query; the `after` columns are bound only by the statements that use them. */
interface RangeParams {
  readonly name: number;
  readonly min: number;
  readonly max: number;
  readonly limit: number;
  readonly offset: number;
  readonly score?: number;
  readonly member?: string;
}

function prepareStatements(db: Database.Database) {
  // The keyset term comes first in each range query: written so, SQLite seeks the (name_id, score, member)
  // index to the cursor instead of walking every tie before it.
  const rangeSql = (columns: string, where: string, order: 'ASC' | 'DESC') =>
    `SELECT ${columns} FROM index_entries
     WHERE name_id = @name ${where} AND score >= @min AND score <= @max
     ORDER BY score ${order}, member ${order} LIMIT @limit OFFSET @offset`;
  const range = (where: string, order: 'ASC' | 'DESC') => db.prepare<RangeParams, EntryRow>(rangeSql('member, score', where, order));
  const scores = (order: 'ASC' | 'DESC') => db.prepare<RangeParams, number>(rangeSql('score', '', order)).pluck();
  return {
    // Deferred: the snapshot is taken by the first read inside it.
    beginRead: db.prepare('BEGIN'),
    endRead: db.prepare('COMMIT'),
    putDocument: db.prepare<[string, string, string]>(
      `INSERT INTO documents (collection, id, json) VALUES (?, ?, ?)
       ON CONFLICT (collection, id) DO UPDATE SET json = excluded.json`,
    ),
    deleteDocument: db.prepare<[string, string]>('DELETE FROM documents WHERE collection = ? AND id = ?'),
    increment: db.prepare<[string, string, number]>(
      `INSERT INTO counters (counter, field, value) VALUES (?, ?, ?)
       ON CONFLICT (counter, field) DO UPDATE SET value = value + excluded.value`,
    ),
    index: db.prepare<[number, string, number, number]>(
      `INSERT INTO index_entries (projection_id, member, name_id, score) VALUES (?, ?, ?, ?)
       ON CONFLICT (projection_id, member, name_id) DO UPDATE SET score = excluded.score`,
    ),
    unindex: db.prepare<[number, string, number]>('DELETE FROM index_entries WHERE projection_id = ? AND member = ? AND name_id = ?'),
    nameId: db.prepare<[string], { id: number }>('SELECT id FROM names WHERE name = ?'),
    addName: db.prepare<[string], { id: number }>('INSERT INTO names (name) VALUES (?) RETURNING id'),
    putCheckpoint: db.prepare<[string, string, string, number, string]>(
      `INSERT INTO checkpoints (projection, commit_position, prepare_position, events_processed, last_recorded_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (projection) DO UPDATE SET commit_position = excluded.commit_position,
         prepare_position = excluded.prepare_position, events_processed = excluded.events_processed,
         last_recorded_at = excluded.last_recorded_at`,
    ),
    checkpoint: db.prepare<[string], CheckpointRow>(
      'SELECT commit_position, prepare_position, events_processed, last_recorded_at FROM checkpoints WHERE projection = ?',
    ),
    document: db.prepare<[string, string], string>('SELECT json FROM documents WHERE collection = ? AND id = ?').pluck(),
    logChange: db.prepare<[string, string]>('INSERT INTO document_changes (collection, id) VALUES (?, ?)'),
    pruneChanges: db.prepare<[number]>('DELETE FROM document_changes WHERE seq <= ?'),
    changesAfter: db.prepare<[number, number], [seq: number, collection: string, id: string]>(
      'SELECT seq, collection, id FROM document_changes WHERE seq > ? ORDER BY seq LIMIT ?',
    ).raw(true),
    changeBounds: db.prepare<[], [oldest: number | null, newest: number | null]>('SELECT min(seq), max(seq) FROM document_changes').raw(true),
    lastWritten: db.prepare<[string], number | null>('SELECT max(rowid) FROM documents WHERE collection = ?').pluck(),
    page: db
      .prepare<[string, number, number, number], [rowid: number, id: string, json: string]>(
        'SELECT rowid, id, json FROM documents WHERE collection = ? AND rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?',
      )
      .raw(true),
    counters: db.prepare<[string], [field: string, value: number]>('SELECT field, value FROM counters WHERE counter = ?').raw(true),
    counterFields: db
      .prepare<[string, string], [field: string, value: number]>('SELECT field, value FROM counters WHERE counter = ? AND field IN (SELECT value FROM json_each(?))')
      .raw(true),
    rangeForwards: range('', 'ASC'),
    rangeForwardsAfter: range('AND (score, member) > (@score, @member)', 'ASC'),
    rangeBackwards: range('', 'DESC'),
    rangeBackwardsAfter: range('AND (score, member) < (@score, @member)', 'DESC'),
    scoresForwards: scores('ASC'),
    scoresBackwards: scores('DESC'),
    count: db.prepare<[number, number, number], { n: number }>(
      'SELECT count(*) AS n FROM index_entries WHERE name_id = ? AND score >= ? AND score <= ?',
    ),
    // SQLite walks the entries it counts: the LIMIT stops the walk at the caller's bound. A statement
    // of its own, since the subquery makes an unbounded count about half as slow again.
    countUpTo: db.prepare<[number, number, number, number], { n: number }>(
      'SELECT count(*) AS n FROM (SELECT 1 FROM index_entries WHERE name_id = ? AND score >= ? AND score <= ? LIMIT ?)',
    ),
    // Names between `p:` (inclusive) and `p;` (exclusive) are exactly those starting with `p:`, since ';'
    // follows ':' in byte order: a range on the primary key, with no LIKE wildcard to escape.
    resetDocuments: db.prepare<[string, string]>('DELETE FROM documents WHERE collection >= ? AND collection < ?'),
    resetCounters: db.prepare<[string, string]>('DELETE FROM counters WHERE counter >= ? AND counter < ?'),
    resetIndexes: db.prepare<[number]>('DELETE FROM index_entries WHERE projection_id = ?'),
    entriesOf: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM index_entries WHERE projection_id = ?'),
    resetCheckpoint: db.prepare<[string]>('DELETE FROM checkpoints WHERE projection = ?'),
    staging: db.prepare<[string], { changes: number }>('SELECT changes FROM staging WHERE projection = ?'),
    startStaging: db.prepare<[string]>('INSERT INTO staging (projection) VALUES (?)'),
    countStaged: db.prepare<[number, string]>('UPDATE staging SET changes = changes + ? WHERE projection = ?'),
    // Counts no further than the bound, so that a large index costs no more to weigh than the change it is weighed against.
    entriesUpTo: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM (SELECT 1 FROM index_entries LIMIT ?)'),
    stopStaging: db.prepare<[string]>('DELETE FROM staging WHERE projection = ?'),
    // A null score stages an unindex.
    stage: db.prepare<[number, string, number | null]>('INSERT INTO staged_index_entries (name_id, member, score) VALUES (?, ?, ?)'),
    // The last staged change of each entry (max(seq): SQLite takes the bare columns from that row). The
    // GROUP BY sorts them into key order, so that index_entries fills page by page (an ORDER BY would
    // sort them a second time). Unindexed entries are left out: a staging projection has no entries in
    // index_entries (see EmbeddedReadModelStore).
    mergeStaged: db.prepare<[number, string, string]>(
      `INSERT INTO index_entries (projection_id, member, name_id, score)
       SELECT ?, member, name_id, score FROM (
         SELECT member, name_id, score, max(seq) FROM staged_index_entries
         WHERE name_id IN (SELECT id FROM names WHERE name >= ? AND name < ?)
         GROUP BY member, name_id
       ) WHERE score IS NOT NULL
       ON CONFLICT (projection_id, member, name_id) DO UPDATE SET score = excluded.score`,
    ),
    othersStaging: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM staging WHERE projection != ? LIMIT 1'),
    // Without a WHERE clause SQLite frees the table's pages wholesale instead of deleting row by row.
    dropAllStaged: db.prepare('DELETE FROM staged_index_entries'),
    dropStaged: db.prepare<[string, string]>(
      'DELETE FROM staged_index_entries WHERE name_id IN (SELECT id FROM names WHERE name >= ? AND name < ?)',
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * Read models in one SQLite file (WAL). A commit is one transaction holding every change and the
 * checkpoint, so they land together or not at all.
 *
 * synchronous=NORMAL: in WAL mode a commit then survives a crash of the process but may be lost in a
 * power cut. Losing it is harmless here: the changes and the checkpoint are lost together, so the
 * runner re-projects those events from the older checkpoint; nothing is skipped or counted twice.
 * FULL would add an fsync to every commit for nothing the event store does not already keep.
 *
 * Names compare in byte order (SQLite's BINARY collation on UTF-8), as Redis orders members.
 *
 * Index entries name their index by a number from the `names` table: the entries of a rebuild's
 * indexes (six per audit event, each in two B-trees) then carry a small integer instead of a name such
 * as `audit:deal:<uuid>`, which made them twice as costly to write. A name keeps its number for
 * ever (a reset leaves it), so every process may remember the numbers it has seen. Entries are keyed
 * by their projection's number (its namespace's, `p:`, from the same table), then member, then index:
 * a live commit moves a deal's entries in a dozen analytics indexes at once, and keyed by index first
 * each of those landed on a page of its own (a quarter more bytes written per command); a projection's
 * entries still lie together, so a reset deletes one stretch of the table.
 *
 * Staged index entries: a catch-up commit (CommitOptions.catchingUp) of a projection with no checkpoint
 * (fresh, or just reset) puts the projection in `staging`, and its index changes, then and in every
 * later catch-up commit, are appended to `staged_index_entries` instead: appends in commit order, so
 * a commit dirties a few pages at the end of one table rather than a page per deal in two B-trees
 * (which outgrow the page cache at a million events and made rebuild time grow faster than linearly).
 * settle(), any commit that is not a catch-up's, and the first range() or count() of one of its
 * indexes (in any process) merge the staged entries, last change per entry wins, sorted, in one
 * transaction. So a staging projection has no entries in index_entries, readers never see staged
 * ones, and a crash leaves the staged rows committed with their checkpoint, for the catch-up to go on.
 *
 * The score index is dropped and built again around a merge of more staged changes than index_entries
 * holds (counted in `staging` as they are staged), and around a reset of a projection that holds at
 * least a quarter of the entries: its entries go in score order, so the merge's inserts and the reset's
 * deletes land at random places in it, and at ten million events (sixty million entries) each one was
 * a page read from outside SQLite's cache. A reset deletes in key order, a deal at a time across all
 * the projection's indexes, so its deletes jump between their parts of the score index: at 500k events
 * analytics (about a third of the entries) took 35 s so, 9 s with the index built afresh. Built afresh
 * it costs one sort of the entries there are then: for a merge at most twice the entries merged, for a
 * reset no more than three times the entries deleted.
 * Drop and build happen inside the merge's or reset's transaction, so a crash leaves the index as it was.
 */
export class EmbeddedReadModelStore implements ReadModelStore {
  private readonly statements: Statements;
  private readonly unionStatements = new Map<string, Database.Statement<[Record<string, number>], number>>();
  private readonly write: Database.Transaction<
    (projection: string, changes: NetChanges, checkpoint: Checkpoint, looked: Map<string, number>, catchingUp: boolean) => void
  >;
  private readonly clear: Database.Transaction<(projection: string) => void>;
  private readonly unstage: Database.Transaction<(projection: string) => void>;
  /** Index name → its number in `names`, for names known committed; emptied when it grows too large. */
  private readonly nameIds = new Map<string, number>();
  /** True while the reads of this turn of the event loop share a read transaction (see snapshot). */
  private reading = false;
  /**
   * Documents as JSON, and parsed once read frozen, as of the change `seenChange` names, keyed by
   * collection and id. SQLite drops a connection's whole page cache whenever another connection
   * commits, and under writes (the projector commits several times a second) every lookup then reads
   * its B-tree pages again: 50 pipeline rows cost twice what they cost on a quiet file. The log of
   * document changes says which of these to drop.
   */
  private readonly documentCache = new RecentMap<string, CachedDocument>(cachedDocuments);
  private seenChange = 0;
  /** True once this turn's read transaction has applied the log to documentCache. */
  private cacheCurrent = false;

  private constructor(private readonly db: Database.Database) {
    const statements = prepareStatements(db);
    this.statements = statements;
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
      for (const [counter, fields] of changes.counters) {
        for (const [field, by] of fields) statements.increment.run(counter, field, by);
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
      statements.resetCounters.run(from, to);
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

  /** Opens the file, creating it and its schema when missing. */
  static open(path: string): EmbeddedReadModelStore {
    const db = new Database(path);
    try {
      useWal(db, path, 5_000);
      db.pragma('synchronous = NORMAL');
      // Checkpoints every 40 MB of WAL rather than 4 MB: a rebuild rewrites the same pages (index tails,
      // chain heads) commit after commit, and each checkpoint copies them and fsyncs the file once more.
      db.pragma('wal_autocheckpoint = 10000');
      migrateFromVersion1(db);
      migrateFromVersion2(db);
      migrateFromVersion3(db);
      migrateFromVersion4(db);
      migrateFromVersion5(db);
      ensureSqliteSchema(db, path, schemaVersion, schema);
      return new EmbeddedReadModelStore(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async commit(projection: string, changes: readonly ReadModelChange[], checkpoint: Checkpoint, options: CommitOptions = {}): Promise<void> {
    const net = netChanges(projection, changes);
    // IMMEDIATE takes the write lock up front, so another process's writer makes this wait, not fail.
    const looked = new Map<string, number>();
    this.endRead();
    this.write.immediate(projection, net, validCheckpoint(checkpoint), looked, options.catchingUp === true);
    // Remembered once committed: a rollback would take new names back, and their numbers could go to others.
    for (const [name, id] of looked) this.remember(name, id);
  }

  async settle(projection: string): Promise<void> {
    projectionNamespace(projection);
    this.settleIndexesOf(projection);
  }

  /**
   * Opens the read transaction that every read of this turn of the event loop shares, when none is open.
   * Outside a transaction each statement starts and ends a WAL read transaction of its own (two fcntl
   * locks on the -shm file and an fstat, about 5 µs); a question makes ten to twenty reads within one
   * turn, and inside a transaction each costs a quarter of a microsecond. It also makes those reads one
   * snapshot. The transaction ends at the next turn (or before any write on this connection), so it
   * holds back no writer, checkpoint or other process for longer than the turn that reads.
   */
  private snapshot(): void {
    if (this.reading) return;
    this.statements.beginRead.run();
    this.reading = true;
    nextTurn(this.endRead);
  }

  private readonly endRead = (): void => {
    if (!this.reading) return;
    this.reading = false;
    this.cacheCurrent = false;
    if (this.db.inTransaction) this.statements.endRead.run();
  };

  /**
   * A document as of this turn's snapshot: from documentCache, once the changes logged since the
   * cache was last brought up to date have dropped what they changed, else read and kept. Within one
   * read transaction the log and the documents are of one state, so the cache never answers with a
   * document older than that state.
   */
  private cachedDocument(collection: string, id: string): CachedDocument | undefined {
    this.snapshot();
    if (!this.cacheCurrent) this.applyChanges();
    const key = documentKey(collection, id);
    const cached = this.documentCache.get(key);
    if (cached !== undefined) return cached;
    const json = this.statements.document.get(collection, id);
    if (json === undefined) return undefined;
    const document: CachedDocument = { json };
    this.documentCache.set(key, document);
    return document;
  }

  private applyChanges(): void {
    this.cacheCurrent = true;
    const [oldest, newest] = this.statements.changeBounds.get() ?? [null, null];
    if (newest === null || newest === this.seenChange) return;
    // Rows this connection has not seen were pruned (or the log began again): it cannot tell what they changed.
    const missed = oldest === null || oldest > this.seenChange + 1;
    const changes = missed || this.documentCache.size === 0 ? [] : this.statements.changesAfter.all(this.seenChange, maxChangesApplied + 1);
    if (missed || changes.length > maxChangesApplied || changes.some(([, collection]) => collection === everyDocument)) {
      this.documentCache.clear();
    } else {
      for (const [, collection, id] of changes) this.documentCache.delete(documentKey(collection, id));
    }
    this.seenChange = newest;
  }

  /** Merges a staging projection's entries before its indexes are read; a lookup when none are staged. */
  private settleIndexesOf(projection: string): void {
    if (this.statements.staging.get(projection) === undefined) return;
    const reading = this.reading;
    this.endRead();
    this.unstage.immediate(projection);
    if (reading) this.snapshot();
  }

  /** The number of a name (an index's, or a projection's namespace), adding it when it is new; runs inside a commit. */
  private writableNameId(name: string, looked: Map<string, number>): number {
    const id = this.nameIds.get(name) ?? this.statements.nameId.get(name)?.id ?? this.statements.addName.get(name)?.id;
    if (id === undefined) throw new Error(`Cannot number the index name ${name}`);
    looked.set(name, id);
    return id;
  }

  /** The number of a name (an index's, or a projection's namespace), or undefined when no commit has written it yet. */
  private nameId(name: string): number | undefined {
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

  async checkpoint(projection: string): Promise<Checkpoint | undefined> {
    this.snapshot();
    const row = this.statements.checkpoint.get(projection);
    if (row === undefined) return undefined;
    return {
      position: { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) },
      eventsProcessed: row.events_processed,
      lastRecordedAt: row.last_recorded_at,
    };
  }

  async get(collection: string, id: string): Promise<JsonObject | undefined> {
    const cached = this.cachedDocument(collection, id);
    return cached === undefined ? undefined : parse(cached.json);
  }

  async getMany(collection: string, ids: readonly string[], options: GetOptions = {}): Promise<ReadonlyArray<JsonObject | undefined>> {
    if (ids.length === 0) return [];
    // One keyed lookup per id inside the turn's read transaction: cheaper than one statement joining
    // the ids as a JSON array (json_each), which also builds rows as objects to be matched back.
    return ids.map((id) => {
      const cached = this.cachedDocument(collection, id);
      if (cached === undefined) return undefined;
      if (!options.frozen) return parse(cached.json);
      cached.frozen ??= frozenDocument(parse(cached.json));
      return cached.frozen;
    });
  }

  async *scan(
    collection: string,
    options: { readonly pageSize?: number } = {},
  ): AsyncGenerator<{ readonly id: string; readonly document: JsonObject }> {
    const pageSize = positiveInteger(options.pageSize ?? defaultScanPageSize, 'pageSize');
    // In the order documents were first written, which is the order they lie in the file: a page of
    // them shares a few pages of the table, where id order read a table page per document. A document
    // written again keeps its rowid; one first written (or deleted and written again) after the scan
    // started lies past `last` and is not seen, so none is seen twice.
    this.snapshot();
    const last = this.statements.lastWritten.get(collection) ?? 0;
    let after = 0;
    for (;;) {
      this.snapshot();
      const rows = this.statements.page.all(collection, after, last, pageSize);
      for (const [, id, json] of rows) yield { id, document: parse(json) };
      const final = rows.at(-1);
      if (final === undefined || rows.length < pageSize) return;
      after = final[0];
      // SQLite reads synchronously: without a turn of the event loop, a scan of every deal would
      // keep every other request waiting until it ends.
      await setImmediate();
    }
  }

  async counters(counter: string, fields?: readonly string[]): Promise<Record<string, number>> {
    const result: Record<string, number> = {};
    const named = fields && counterFields(fields);
    if (named?.length === 0) return result;
    this.snapshot();
    const rows = named ? this.statements.counterFields.all(counter, JSON.stringify(named)) : this.statements.counters.all(counter);
    for (const [field, value] of rows) result[field] = roundCounter(value);
    return result;
  }

  async range(index: string, options: RangeOptions): Promise<IndexEntry[]> {
    const params = this.rangeParams(index, options);
    if (params === undefined) return [];
    const { after, reverse = false } = options;
    const statements = this.statements;
    const rows =
      after === undefined
        ? (reverse ? statements.rangeBackwards : statements.rangeForwards).all(params)
        : (reverse ? statements.rangeBackwardsAfter : statements.rangeForwardsAfter).all({
            ...params,
            score: after.score,
            member: after.member,
          });
    return rows.map((row) => ({ member: row.member, score: row.score }));
  }

  async scores(index: string, options: ScoreRangeOptions): Promise<number[]> {
    const params = this.rangeParams(index, options);
    if (params === undefined) return [];
    return (options.reverse ? this.statements.scoresBackwards : this.statements.scoresForwards).all(params);
  }

  async unionScores(indexes: readonly string[], options: ScoreRangeOptions): Promise<number[]> {
    const limit = nonNegativeInteger(options.limit, 'limit');
    const offset = rangeOffset(options);
    if (limit === 0 || indexes.length === 0) return [];
    this.snapshot();
    for (const projection of new Set(indexes.map(owner))) this.settleIndexesOf(projection);
    const names = [...new Set(indexes.flatMap((index) => this.nameId(index) ?? []))];
    const reverse = options.reverse ?? false;
    const read = (group: readonly number[], groupOffset: number, groupLimit: number): number[] => {
      const params: Record<string, number> = { min: options.min ?? -Infinity, max: options.max ?? Infinity, limit: groupLimit, offset: groupOffset };
      group.forEach((name, i) => (params[`n${i}`] = name));
      return this.unionStatement(group.length, reverse).all(params);
    };
    if (names.length <= maxUnionTerms) return names.length === 0 ? [] : read(names, offset, limit);
    // SQLite caps the terms of a compound SELECT: each group's nearest offset + limit, merged.
    const groups: number[][] = [];
    for (let i = 0; i < names.length; i += maxUnionTerms) groups.push(read(names.slice(i, i + maxUnionTerms), 0, offset + limit));
    return mergedScores(groups, reverse, offset, limit);
  }

  /**
   * A compound SELECT of one term per index, prepared once per number of terms and direction. SQLite
   * merges the terms in score order, each walking its index from the nearer bound, and stops at the
   * limit: a fraction of the entries that `name_id IN (…)` would hand to a sorter.
   */
  private unionStatement(terms: number, reverse: boolean): Database.Statement<[Record<string, number>], number> {
    const key = `${terms}:${reverse}`;
    let statement = this.unionStatements.get(key);
    if (statement === undefined) {
      const term = (i: number) => `SELECT score FROM index_entries WHERE name_id = @n${i} AND score >= @min AND score <= @max`;
      const sql = `${Array.from({ length: terms }, (_, i) => term(i)).join(' UNION ALL ')} ORDER BY score ${reverse ? 'DESC' : 'ASC'} LIMIT @limit OFFSET @offset`;
      statement = this.db.prepare<[Record<string, number>], number>(sql).pluck();
      this.unionStatements.set(key, statement);
    }
    return statement;
  }

  /** The bound parameters of a range read, in the read's snapshot; undefined when it can hold nothing. */
  private rangeParams(index: string, options: RangeOptions): RangeParams | undefined {
    const limit = nonNegativeInteger(options.limit, 'limit');
    const offset = rangeOffset(options);
    if (limit === 0) return undefined;
    this.snapshot();
    this.settleIndexesOf(owner(index));
    const nameId = this.nameId(index);
    if (nameId === undefined) return undefined;
    return { name: nameId, min: options.min ?? -Infinity, max: options.max ?? Infinity, limit, offset };
  }

  async count(index: string, min = -Infinity, max = Infinity, limit?: number): Promise<number> {
    const most = countLimit(limit);
    this.snapshot();
    this.settleIndexesOf(owner(index));
    const nameId = this.nameId(index);
    if (nameId === undefined) return 0;
    const counted = Number.isFinite(most) ? this.statements.countUpTo.get(nameId, min, max, most) : this.statements.count.get(nameId, min, max);
    return counted?.n ?? 0;
  }

  async reset(projection: string): Promise<void> {
    this.endRead();
    this.clear.immediate(projection);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

const scoreIndex = 'CREATE INDEX index_entries_by_score ON index_entries (name_id, score, member)';

/** Terms in one union read, well under SQLite's cap on a compound SELECT's (500 by default). */
const maxUnionTerms = 100;

// Numbers are never reused: nothing deletes a name (see EmbeddedReadModelStore).
const namesTable = `
CREATE TABLE names (
  id   INTEGER PRIMARY KEY,
  name TEXT    NOT NULL UNIQUE
) STRICT;
`;

// Keyed by projection, then member: a commit's changes to one deal's entries in all of its projection's
// indexes land on one page, and a projection's entries lie together (see EmbeddedReadModelStore).
const indexEntriesTable = `
CREATE TABLE index_entries (
  projection_id INTEGER NOT NULL,
  member        TEXT    NOT NULL,
  name_id       INTEGER NOT NULL,
  score         REAL    NOT NULL,
  PRIMARY KEY (projection_id, member, name_id)
) STRICT, WITHOUT ROWID;
`;

const indexTables = `${namesTable} ${indexEntriesTable} ${scoreIndex};`;

// A rowid table: staged entries are appended, never looked up one by one (see EmbeddedReadModelStore).
const stagingTables = `
CREATE TABLE staging (
  projection TEXT    PRIMARY KEY,
  changes    INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;
CREATE TABLE staged_index_entries (
  seq     INTEGER PRIMARY KEY,
  name_id INTEGER NOT NULL,
  member  TEXT    NOT NULL,
  score   REAL
) STRICT;
`;

// Documents keep a rowid: their JSON is often larger than WITHOUT ROWID tables handle well, and the
// documents written together (a rebuild's collection, the deals changed lately) lie on neighbouring
// pages. A scan reads a collection in rowid order, which this index (its entries are (collection, rowid)) keeps.
const documentsInWriteOrder = 'CREATE INDEX documents_in_write_order ON documents (collection)';

// The log of document changes each connection's document cache follows (EmbeddedReadModelStore.cachedDocument).
// AUTOINCREMENT: a sequence number is never used twice, even once the rows before it are pruned.
const documentChanges = `
CREATE TABLE document_changes (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  collection TEXT NOT NULL,
  id         TEXT NOT NULL
) STRICT;
`;

const schema = `
CREATE TABLE documents (
  collection TEXT NOT NULL,
  id         TEXT NOT NULL,
  json       TEXT NOT NULL,
  PRIMARY KEY (collection, id)
) STRICT;
${documentsInWriteOrder};
${documentChanges}
CREATE TABLE counters (
  counter TEXT NOT NULL,
  field   TEXT NOT NULL,
  value   REAL NOT NULL,
  PRIMARY KEY (counter, field)
) STRICT, WITHOUT ROWID;
${indexTables}
${stagingTables}
-- Positions as decimal text: they are 64-bit unsigned in EventStoreDB, beyond what a JS number holds.
CREATE TABLE checkpoints (
  projection       TEXT    PRIMARY KEY,
  commit_position  TEXT    NOT NULL,
  prepare_position TEXT    NOT NULL,
  events_processed INTEGER NOT NULL,
  last_recorded_at TEXT    NOT NULL
) STRICT, WITHOUT ROWID;
`;

/** Version 1 kept each index entry's name as text: its entries move to numbered names, nothing is lost. */
function migrateFromVersion1(db: Database.Database): void {
  db.transaction(() => {
    if (Number(db.pragma('user_version', { simple: true })) !== 1) return;
    // The entries as versions 2 to 5 keep them, which migrateFromVersion5 then keys afresh.
    db.exec(`
      DROP INDEX index_entries_by_score;
      ALTER TABLE index_entries RENAME TO index_entries_v1;
      ${namesTable}
      CREATE TABLE index_entries (
        name_id INTEGER NOT NULL,
        member  TEXT    NOT NULL,
        score   REAL    NOT NULL,
        PRIMARY KEY (name_id, member)
      ) STRICT, WITHOUT ROWID;
      ${scoreIndex};
      INSERT INTO names (name) SELECT DISTINCT name FROM index_entries_v1 ORDER BY name;
      INSERT INTO index_entries (name_id, member, score)
        SELECT names.id, member, score FROM index_entries_v1 JOIN names ON names.name = index_entries_v1.name;
      DROP TABLE index_entries_v1;
      PRAGMA user_version = 2;
    `);
  }).immediate();
}

/** Version 2 had no staged index entries: the tables are added as they are now, nothing else changes. */
function migrateFromVersion2(db: Database.Database): void {
  db.transaction(() => {
    if (Number(db.pragma('user_version', { simple: true })) !== 2) return;
    db.exec(`${stagingTables} PRAGMA user_version = 4;`);
  }).immediate();
}

/**
 * Version 3 did not count a staging projection's changes. One staging across the upgrade counts only
 * what it stages after it, so its merge may keep the score index in place where a full count would
 * build it afresh: as slow as version 3 at worst, and as exact either way.
 */
function migrateFromVersion3(db: Database.Database): void {
  db.transaction(() => {
    if (Number(db.pragma('user_version', { simple: true })) !== 3) return;
    db.exec('ALTER TABLE staging ADD COLUMN changes INTEGER NOT NULL DEFAULT 0; PRAGMA user_version = 4;');
  }).immediate();
}

/**
 * Version 4 scanned documents in id order and kept no log of their changes: the index of the order they
 * were written in and the log are added.
 */
function migrateFromVersion4(db: Database.Database): void {
  db.transaction(() => {
    if (Number(db.pragma('user_version', { simple: true })) !== 4) return;
    db.exec(`${documentsInWriteOrder}; ${documentChanges} PRAGMA user_version = 5;`);
  }).immediate();
}

/**
 * Version 5 keyed index entries by index and member, so a commit touched a page per index a deal's
 * entries moved in. They are keyed afresh by projection and member, each projection numbered by its
 * namespace's name (every index name starts with it), in key order; nothing else moves.
 */
function migrateFromVersion5(db: Database.Database): void {
  db.transaction(() => {
    if (Number(db.pragma('user_version', { simple: true })) !== 5) return;
    db.exec(`
      DROP INDEX index_entries_by_score;
      ALTER TABLE index_entries RENAME TO index_entries_v5;
      ${indexEntriesTable}
      INSERT OR IGNORE INTO names (name) SELECT DISTINCT substr(name, 1, instr(name, ':')) FROM names WHERE instr(name, ':') > 0;
      INSERT INTO index_entries (projection_id, member, name_id, score)
        SELECT projections.id, entries.member, entries.name_id, entries.score
        FROM index_entries_v5 AS entries
        JOIN names AS indexes ON indexes.id = entries.name_id
        JOIN names AS projections ON projections.name = substr(indexes.name, 1, instr(indexes.name, ':'))
        ORDER BY 1, 2, 3;
      DROP TABLE index_entries_v5;
      ${scoreIndex};
      PRAGMA user_version = 6;
    `);
  }).immediate();
}

/**
 * The bounds of every name a projection owns: from `p:` (inclusive) to `p;` (exclusive), since ';'
 * follows ':' in byte order, so a range on a primary key with no LIKE wildcard to escape.
 */
function namesOf(projection: string): [from: string, to: string] {
  return [projectionNamespace(projection), `${projection};`];
}

/** The projection that owns a name: what comes before its first colon. */
function owner(name: string): string {
  return name.slice(0, Math.max(0, name.indexOf(':')));
}

function parse(json: string): JsonObject {
  return JSON.parse(json) as JsonObject;
}

/** A document as documentCache keeps it: its JSON, and the frozen object frozen reads share. */
interface CachedDocument {
  readonly json: string;
  frozen?: JsonObject;
}
