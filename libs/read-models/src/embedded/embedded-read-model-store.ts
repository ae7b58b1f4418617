import { setImmediate as nextTurn } from 'node:timers';
import { setImmediate } from 'node:timers/promises';
import { ensureSqliteSchema, RecentMap } from '@deals/platform';
import Database from 'better-sqlite3';
import {
  counterFields,
  countLimit,
  frozenDocument,
  mergedScores,
  netChanges,
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
  CounterChanges,
  GetOptions,
  IndexEntry,
  JsonObject,
  RangeOptions,
  ReadModelChanges,
  ReadModelStore,
  ScoreRangeOptions,
} from '../read-model-store.port';
import { CatchUpThread } from './catch-up-thread';
import { prepareStatements, type RangeParams, type Statements } from './embedded-statements';
import { EmbeddedWrites, everyDocument, scoreIndex, useReadModelPragmas } from './embedded-writes';

const schemaVersion = 7;
const defaultScanPageSize = 500;
/**
 * Documents a connection keeps between reads: about 10 MB of deals' timelines and pipeline rows as
 * JSON, and up to about 15 MB more for those read frozen, parsed (20,000 timelines: 11 MB, 16 MB).
 */
const cachedDocuments = 20_000;
/** How many change rows a reader applies one by one before it drops everything instead. */
const maxChangesApplied = 10_000;
/** A document's key in a connection's document cache. */
const documentKey = (collection: string, id: string): string => `${collection}\u0000${id}`;

export interface EmbeddedReadModelStoreStats {
  /** Catch-up commits made on the store's catch-up thread (CatchUpThread). */
  readonly catchUpCommits: number;
}

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
  private readonly writes: EmbeddedWrites;
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

  /** Catch-up commits, on a thread of their own once the first comes. */
  private readonly catchUps: CatchUpThread;

  private constructor(
    private readonly db: Database.Database,
    path: string,
  ) {
    const statements = prepareStatements(db);
    this.statements = statements;
    this.writes = new EmbeddedWrites(db, statements);
    this.catchUps = new CatchUpThread(path);
  }

  /** Catch-up commits made on the catch-up thread. */
  get stats(): EmbeddedReadModelStoreStats {
    return { catchUpCommits: this.catchUps.committed };
  }

  /** Opens the file, creating it and its schema when missing. */
  static open(path: string): EmbeddedReadModelStore {
    const db = new Database(path);
    try {
      useReadModelPragmas(db, path);
      migrateFromVersion1(db);
      migrateFromVersion2(db);
      migrateFromVersion3(db);
      migrateFromVersion4(db);
      migrateFromVersion5(db);
      migrateFromVersion6(db);
      ensureSqliteSchema(db, path, schemaVersion, schema);
      return new EmbeddedReadModelStore(db, path);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async commit(projection: string, changes: ReadModelChanges, checkpoint: Checkpoint, options: CommitOptions = {}): Promise<void> {
    const net = netChanges(projection, changes);
    const valid = validCheckpoint(checkpoint);
    if (options.catchingUp === true) await this.catchUps.commit(projection, net, valid);
    // In order: what the catch-up thread was asked to commit before lands first.
    else if (this.catchUps.busy) await this.catchUps.idle();
    // A snapshot open from before would hide the thread's commit from the next read, and a commit of
    // this connection's own cannot start inside one.
    this.endRead();
    if (options.catchingUp !== true) this.writes.commit(projection, net, valid, false);
  }

  async settle(projection: string): Promise<void> {
    projectionNamespace(projection);
    await this.catchUps.idle();
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
    this.writes.unstage.immediate(projection);
    if (reading) this.snapshot();
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

  async counters(counter: string, fields?: readonly string[]): Promise<Readonly<Record<string, number>>> {
    const named = fields && counterFields(fields);
    if (named?.length === 0) return {};
    this.snapshot();
    return counterValues(named ? this.statements.counterFields.get(counter, JSON.stringify(named))! : this.statements.counters.get(counter)!);
  }

  async countersSince(counter: string, since: number | undefined): Promise<CounterChanges> {
    if (since !== undefined) nonNegativeInteger(since, 'since');
    this.snapshot();
    const [latest, resetAt] = this.statements.counterStamps.get()!;
    // Deleted fields carry no stamp, and a stamp this file never gave (a file put in its place) says nothing.
    const whole = since === undefined || since < resetAt || since > latest;
    const json = whole ? this.statements.counters.get(counter)! : this.statements.countersSince.get(counter, since)!;
    return { fields: counterValues(json), whole, stamp: latest };
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
    const names = [...new Set(indexes.flatMap((index) => this.writes.nameId(index) ?? []))];
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
    const nameId = this.writes.nameId(index);
    if (nameId === undefined) return undefined;
    return { name: nameId, min: options.min ?? -Infinity, max: options.max ?? Infinity, limit, offset };
  }

  async count(index: string, min = -Infinity, max = Infinity, limit?: number): Promise<number> {
    const most = countLimit(limit);
    this.snapshot();
    this.settleIndexesOf(owner(index));
    const nameId = this.writes.nameId(index);
    if (nameId === undefined) return 0;
    const counted = Number.isFinite(most) ? this.statements.countUpTo.get(nameId, min, max, most) : this.statements.count.get(nameId, min, max);
    return counted?.n ?? 0;
  }

  async reset(projection: string): Promise<void> {
    await this.catchUps.idle();
    this.endRead();
    this.writes.clear.immediate(projection);
  }

  async close(): Promise<void> {
    await this.catchUps.close();
    if (this.db.open) this.db.close();
  }
}

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

// The stamp of the latest commit that changed counters (each field it changed carries it), and that
// of the latest reset, which deleted some (countersSince).
const counterStamps = `
CREATE TABLE counter_stamps (
  only     INTEGER PRIMARY KEY CHECK (only = 0),
  latest   INTEGER NOT NULL,
  reset_at INTEGER NOT NULL
) STRICT;
INSERT INTO counter_stamps (only, latest, reset_at) VALUES (0, 0, 0);
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
  stamp   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (counter, field)
) STRICT, WITHOUT ROWID;
${counterStamps}
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

/** Version 6 kept no stamps on counters: every field gets 0, older than any commit's. */
function migrateFromVersion6(db: Database.Database): void {
  db.transaction(() => {
    if (Number(db.pragma('user_version', { simple: true })) !== 6) return;
    db.exec(`ALTER TABLE counters ADD COLUMN stamp INTEGER NOT NULL DEFAULT 0; ${counterStamps} PRAGMA user_version = 7;`);
  }).immediate();
}

/** The projection that owns a name: what comes before its first colon. */
function owner(name: string): string {
  return name.slice(0, Math.max(0, name.indexOf(':')));
}

function parse(json: string): JsonObject {
  return JSON.parse(json) as JsonObject;
}

/** A counter hash read as one JSON object (an aggregate: `{}` when it has no fields), rounded as every read is. */
function counterValues(json: string): Record<string, number> {
  const values = JSON.parse(json) as Record<string, number>;
  for (const field in values) values[field] = roundCounter(values[field]!);
  return values;
}

/** A document as documentCache keeps it: its JSON, and the frozen object frozen reads share. */
interface CachedDocument {
  readonly json: string;
  frozen?: JsonObject;
}
