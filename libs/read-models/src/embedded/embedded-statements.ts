import type Database from 'better-sqlite3';

// The statements of a connection to a read-model file, prepared once (see EmbeddedReadModelStore for the layout).

export interface CheckpointRow {
  readonly commit_position: string;
  readonly prepare_position: string;
  readonly events_processed: number;
  readonly last_recorded_at: string;
}

export interface EntryRow {
  readonly member: string;
  readonly score: number;
}

/** Bounds and keyset cursor of a range query; the `after` columns are bound only by the statements that use them. */
export interface RangeParams {
  readonly name: number;
  readonly min: number;
  readonly max: number;
  readonly limit: number;
  readonly offset: number;
  readonly score?: number;
  readonly member?: string;
}

export function prepareStatements(db: Database.Database) {
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
    increment: db.prepare<[string, string, number, number]>(
      `INSERT INTO counters (counter, field, value, stamp) VALUES (?, ?, ?, ?)
       ON CONFLICT (counter, field) DO UPDATE SET value = value + excluded.value, stamp = excluded.stamp`,
    ),
    nextCounterStamp: db.prepare<[], number>('UPDATE counter_stamps SET latest = latest + 1 RETURNING latest').pluck(),
    stampReset: db.prepare('UPDATE counter_stamps SET latest = latest + 1, reset_at = latest + 1'),
    counterStamps: db.prepare<[], [latest: number, resetAt: number]>('SELECT latest, reset_at FROM counter_stamps').raw(true),
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
    // Each bound its own subquery: SQLite seeks a lone min() or max() at the table's end, but a query
    // asking both scans every row, and the log keeps up to 65,536 (every turn that reads a document asks).
    changeBounds: db
      .prepare<[], [oldest: number | null, newest: number | null]>('SELECT (SELECT min(seq) FROM document_changes), (SELECT max(seq) FROM document_changes)')
      .raw(true),
    lastWritten: db.prepare<[string], number | null>('SELECT max(rowid) FROM documents WHERE collection = ?').pluck(),
    page: db
      .prepare<[string, number, number, number], [rowid: number, id: string, json: string]>(
        'SELECT rowid, id, json FROM documents WHERE collection = ? AND rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?',
      )
      .raw(true),
    // A hash as one JSON object: SQLite builds it and JSON.parse makes the object, half the cost of a
    // row per field turned into JavaScript values one by one (a scope's totals hold several hundred).
    counters: db.prepare<[string], string>('SELECT json_group_object(field, value) FROM counters WHERE counter = ?').pluck(),
    // SQLite still walks the hash's rows, but makes JSON of only those stamped since.
    countersSince: db
      .prepare<[string, number], string>('SELECT json_group_object(field, value) FROM counters WHERE counter = ? AND stamp > ?')
      .pluck(),
    counterFields: db
      .prepare<[string, string], string>('SELECT json_group_object(field, value) FROM counters WHERE counter = ? AND field IN (SELECT value FROM json_each(?))')
      .pluck(),
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

export type Statements = ReturnType<typeof prepareStatements>;
