import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { NetChanges } from '../adapter-rules';
import type { ReadModelChange } from '../read-model-store.port';
import { CatchUpThread } from './catch-up-thread';
import { describeReadModelStoreConformance } from '../testing/read-model-store-conformance';
import { EmbeddedReadModelStore } from './embedded-read-model-store';
import { prepareStatements } from './embedded-statements';

describeReadModelStoreConformance('embedded', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'read-models-'));
  const store = EmbeddedReadModelStore.open(path.join(dir, 'read-models.sqlite'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

// The tables every version has had, and the numbered index tables of versions 2 and 3, as those wrote them.
const unchangedTables = `
  CREATE TABLE documents (collection TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (collection, id)) STRICT;
  CREATE TABLE counters (counter TEXT NOT NULL, field TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (counter, field)) STRICT, WITHOUT ROWID;
  CREATE TABLE checkpoints (projection TEXT PRIMARY KEY, commit_position TEXT NOT NULL, prepare_position TEXT NOT NULL,
    events_processed INTEGER NOT NULL, last_recorded_at TEXT NOT NULL) STRICT, WITHOUT ROWID;
`;
const numberedIndexTables = `
  CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT;
  CREATE TABLE index_entries (name_id INTEGER NOT NULL, member TEXT NOT NULL, score REAL NOT NULL, PRIMARY KEY (name_id, member)) STRICT, WITHOUT ROWID;
  CREATE INDEX index_entries_by_score ON index_entries (name_id, score, member);
`;

/** Writes a file as an older version left it. */
function writeFile(file: string, sql: string): void {
  const db = new Database(file);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

function userVersion(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return Number(db.pragma('user_version', { simple: true }));
  } finally {
    db.close();
  }
}

/** For each test of the describe block it is called in: a file path in a fresh directory, removed after the test. */
function freshFile(prefix: string): () => string {
  let dir = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  return () => path.join(dir, 'read-models.sqlite');
}

/** For each test of the describe block it is called in: a fresh file written as an older version left it. */
function olderFile(prefix: string, sql: string): () => string {
  const fileFor = freshFile(prefix);
  let file = '';
  beforeEach(() => {
    file = fileFor();
    writeFile(file, sql);
  });
  return () => file;
}

/** Opens a file written as an older version left it, checks the store on it, and that the file is now at the current version. */
async function afterUpgrade(file: string, check: (store: EmbeddedReadModelStore) => Promise<void>): Promise<void> {
  const store = EmbeddedReadModelStore.open(file);
  try {
    await check(store);
  } finally {
    await store.close();
  }
  expect(userVersion(file)).toBe(7);
}

describe('embedded read-model store, on a file of schema version 1', () => {
  // The index table as version 1 wrote it: the index's name as text in every entry.
  const file = olderFile('read-models-v1-', `
      ${unchangedTables}
      CREATE TABLE index_entries (name TEXT NOT NULL, member TEXT NOT NULL, score REAL NOT NULL, PRIMARY KEY (name, member)) STRICT, WITHOUT ROWID;
      CREATE INDEX index_entries_by_score ON index_entries (name, score, member);
      INSERT INTO documents VALUES ('p:doc', 'a', '{"n":1}');
      INSERT INTO index_entries VALUES ('p:by-n', 'a', 1), ('p:by-n', 'b', 2), ('p:other', 'a', 5);
      INSERT INTO checkpoints VALUES ('p', '7', '7', 7, '2026-01-01T00:00:00.000Z');
      PRAGMA user_version = 1;
    `);

  it('moves its index entries to numbered names and keeps everything else', async () => {
    await afterUpgrade(file(), async (store) => {
      expect(await store.range('p:by-n', { limit: 10 })).toEqual([
        { member: 'a', score: 1 },
        { member: 'b', score: 2 },
      ]);
      expect(await store.count('p:other')).toBe(1);
      expect(await store.get('p:doc', 'a')).toEqual({ n: 1 });
      expect((await store.checkpoint('p'))?.eventsProcessed).toBe(7);

      await store.commit('p', [{ kind: 'index', index: 'p:by-n', member: 'c', score: 3 }], {
        position: { commit: 8n, prepare: 8n },
        eventsProcessed: 8,
        lastRecordedAt: '2026-01-01T00:00:01.000Z',
      });
      expect(await store.count('p:by-n')).toBe(3);
    });
    // Opened again, the file is at the current version: nothing migrates twice.
    const again = EmbeddedReadModelStore.open(file());
    try {
      expect(await again.count('p:by-n')).toBe(3);
    } finally {
      await again.close();
    }
  });
});

describe('embedded read-model store, on a file of schema version 2', () => {
  // Version 2: numbered index names, no staged index entries.
  const file = olderFile('read-models-v2-', `
      ${unchangedTables}
      ${numberedIndexTables}
      INSERT INTO documents VALUES ('p:doc', 'a', '{"n":1}');
      INSERT INTO names VALUES (1, 'p:by-n');
      INSERT INTO index_entries VALUES (1, 'a', 1), (1, 'b', 2);
      INSERT INTO checkpoints VALUES ('p', '7', '7', 7, '2026-01-01T00:00:00.000Z');
      PRAGMA user_version = 2;
    `);

  it('gains the tables of staged index entries and keeps everything else', async () => {
    await afterUpgrade(file(), async (store) => {
      expect(await store.range('p:by-n', { limit: 10 })).toEqual([
        { member: 'a', score: 1 },
        { member: 'b', score: 2 },
      ]);
      expect(await store.get('p:doc', 'a')).toEqual({ n: 1 });
      await store.reset('p');
      await store.commit('p', [{ kind: 'index', index: 'p:by-n', member: 'c', score: 3 }], checkpoint(1n), { catchingUp: true });
      expect(await store.range('p:by-n', { limit: 10 })).toEqual([{ member: 'c', score: 3 }]);
    });
  });
});

describe('embedded read-model store, on a file of schema version 3', () => {
  // Version 3: a projection staging its catch-up, with no count of its staged changes.
  const file = olderFile('read-models-v3-', `
      ${unchangedTables}
      ${numberedIndexTables}
      CREATE TABLE staging (projection TEXT PRIMARY KEY) STRICT, WITHOUT ROWID;
      CREATE TABLE staged_index_entries (seq INTEGER PRIMARY KEY, name_id INTEGER NOT NULL, member TEXT NOT NULL, score REAL) STRICT;
      INSERT INTO names VALUES (1, 'p:by-n');
      INSERT INTO staging VALUES ('p');
      INSERT INTO staged_index_entries (name_id, member, score) VALUES (1, 'a', 1), (1, 'b', 2);
      INSERT INTO checkpoints VALUES ('p', '2', '2', 2, '2026-01-01T00:00:00.000Z');
      PRAGMA user_version = 3;
    `);

  it('counts staged changes from the upgrade on, and the catch-up under way goes on and merges', async () => {
    await afterUpgrade(file(), async (store) => {
      await store.commit('p', [{ kind: 'index', index: 'p:by-n', member: 'c', score: 3 }], checkpoint(3n), { catchingUp: true });
      await store.settle('p');
      expect(await store.range('p:by-n', { limit: 10 })).toEqual([
        { member: 'a', score: 1 },
        { member: 'b', score: 2 },
        { member: 'c', score: 3 },
      ]);
    });
  });
});

describe('embedded read-model store, on a file of schema version 4', () => {
  // Version 4: documents scanned in id order, with no index of the order they were written in.
  const file = olderFile('read-models-v4-', `
      ${unchangedTables}
      ${numberedIndexTables}
      CREATE TABLE staging (projection TEXT PRIMARY KEY, changes INTEGER NOT NULL DEFAULT 0) STRICT, WITHOUT ROWID;
      CREATE TABLE staged_index_entries (seq INTEGER PRIMARY KEY, name_id INTEGER NOT NULL, member TEXT NOT NULL, score REAL) STRICT;
      INSERT INTO documents VALUES ('p:doc', 'c', '{"n":3}'), ('p:doc', 'a', '{"n":1}'), ('p:other', 'x', '{}'), ('p:doc', 'b', '{"n":2}');
      INSERT INTO checkpoints VALUES ('p', '7', '7', 7, '2026-01-01T00:00:00.000Z');
      PRAGMA user_version = 4;
    `);

  it('gains the index a scan reads, and scans every document in the order it was written', async () => {
    await afterUpgrade(file(), async (store) => {
      const seen: string[] = [];
      for await (const { id } of store.scan('p:doc', { pageSize: 2 })) seen.push(id);
      expect(seen).toEqual(['c', 'a', 'b']);
      expect(await store.checkpoint('p')).toEqual(checkpoint(7n));
    });
  });
});

describe('embedded read-model store, on a file of schema version 5', () => {
  // Version 5: entries keyed by index and member; `q` staging a catch-up.
  const file = olderFile('read-models-v5-', `
      ${unchangedTables}
      ${numberedIndexTables}
      CREATE TABLE staging (projection TEXT PRIMARY KEY, changes INTEGER NOT NULL DEFAULT 0) STRICT, WITHOUT ROWID;
      CREATE TABLE staged_index_entries (seq INTEGER PRIMARY KEY, name_id INTEGER NOT NULL, member TEXT NOT NULL, score REAL) STRICT;
      CREATE TABLE document_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL, id TEXT NOT NULL) STRICT;
      CREATE INDEX documents_in_write_order ON documents (collection);
      INSERT INTO names VALUES (1, 'p:by-n'), (2, 'p:by-m'), (3, 'q:x'), (4, 'p:');
      INSERT INTO index_entries VALUES (1, 'b', 2), (1, 'a', 1), (2, 'a', 10), (2, 'b', 20), (4, 'a', 7);
      INSERT INTO staging VALUES ('q', 2);
      INSERT INTO staged_index_entries (name_id, member, score) VALUES (3, 'a', 1), (3, 'b', 2);
      INSERT INTO checkpoints VALUES ('p', '7', '7', 7, '2026-01-01T00:00:00.000Z'), ('q', '2', '2', 2, '2026-01-01T00:00:00.000Z');
      PRAGMA user_version = 5;
    `);

  it('keys every entry by its projection and member, keeps every index as it was, and resets one projection alone', async () => {
    await afterUpgrade(file(), async (store) => {
      expect(await store.range('p:by-n', { limit: 10 })).toEqual([
        { member: 'a', score: 1 },
        { member: 'b', score: 2 },
      ]);
      expect(await store.range('p:by-m', { limit: 10, reverse: true })).toEqual([
        { member: 'b', score: 20 },
        { member: 'a', score: 10 },
      ]);
      // An index whose name is its projection's namespace shares the projection's number, and stays an index.
      expect(await store.range('p:', { limit: 10 })).toEqual([{ member: 'a', score: 7 }]);
      await store.commit('q', [{ kind: 'index', index: 'q:x', member: 'c', score: 3 }], checkpoint(3n), { catchingUp: true });
      await store.settle('q');
      expect(await store.count('q:x')).toBe(3);
      await store.reset('p');
      expect(await store.count('p:by-n')).toBe(0);
      expect(await store.count('p:')).toBe(0);
      expect(await store.range('q:x', { limit: 10 })).toEqual([
        { member: 'a', score: 1 },
        { member: 'b', score: 2 },
        { member: 'c', score: 3 },
      ]);
    });
  });

  it('lays out a deal\'s entries in every index of its projection side by side', async () => {
    await afterUpgrade(file(), async () => undefined);
    const db = new Database(file(), { readonly: true });
    try {
      // A WITHOUT ROWID table reads in key order.
      const keys = db.prepare('SELECT member, name_id FROM index_entries WHERE projection_id = (SELECT id FROM names WHERE name = ?)').raw(true).all('p:');
      expect(keys).toEqual([
        ['a', 1],
        ['a', 2],
        ['a', 4],
        ['b', 1],
        ['b', 2],
      ]);
    } finally {
      db.close();
    }
  });
});

describe('embedded read-model store, on a file of schema version 6', () => {
  // Version 6: counters without stamps.
  const file = olderFile('read-models-v6-', `
      ${unchangedTables}
      CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT;
      CREATE TABLE index_entries (projection_id INTEGER NOT NULL, member TEXT NOT NULL, name_id INTEGER NOT NULL, score REAL NOT NULL,
        PRIMARY KEY (projection_id, member, name_id)) STRICT, WITHOUT ROWID;
      CREATE INDEX index_entries_by_score ON index_entries (name_id, score, member);
      CREATE TABLE staging (projection TEXT PRIMARY KEY, changes INTEGER NOT NULL DEFAULT 0) STRICT, WITHOUT ROWID;
      CREATE TABLE staged_index_entries (seq INTEGER PRIMARY KEY, name_id INTEGER NOT NULL, member TEXT NOT NULL, score REAL) STRICT;
      CREATE TABLE document_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL, id TEXT NOT NULL) STRICT;
      CREATE INDEX documents_in_write_order ON documents (collection);
      INSERT INTO counters VALUES ('p:totals', 'n', 2), ('p:totals', 'm', 5);
      INSERT INTO checkpoints VALUES ('p', '7', '7', 7, '2026-01-01T00:00:00.000Z');
      PRAGMA user_version = 6;
    `);

  it('keeps every counter, each older than any commit\'s stamp', async () => {
    await afterUpgrade(file(), async (store) => {
      const before = await store.countersSince('p:totals', undefined);
      expect(before).toEqual({ fields: { n: 2, m: 5 }, whole: true, stamp: 0 });
      await store.commit('p', [{ kind: 'increment', counter: 'p:totals', field: 'n', by: 1 }], checkpoint(8n));
      expect(await store.countersSince('p:totals', before.stamp)).toEqual({ fields: { n: 3 }, whole: false, stamp: 1 });
    });
  });
});

describe('embedded read-model store, counter stamps across connections', () => {
  const fileFor = freshFile('read-models-counters-');
  let reader: EmbeddedReadModelStore;
  let writer: EmbeddedReadModelStore;

  beforeEach(() => {
    const file = fileFor();
    reader = EmbeddedReadModelStore.open(file);
    writer = EmbeddedReadModelStore.open(file);
  });
  afterEach(async () => {
    await reader.close();
    await writer.close();
  });

  const increment = (counter: string, field: string, by: number): ReadModelChange => ({ kind: 'increment', counter, field, by });

  it('given a hash a reader has read, when a catch-up commit on the writer\'s thread changes it, then the reader is answered the change', async () => {
    await writer.commit('p', [increment('p:a', 'n', 1)], checkpoint(1n));
    await setImmediate();
    const first = await reader.countersSince('p:a', undefined);
    await writer.commit('p', [increment('p:a', 'n', 1), increment('p:a', 'm', 1)], checkpoint(2n), { catchingUp: true });
    await writer.settle('p');
    await setImmediate();
    expect(await reader.countersSince('p:a', first.stamp)).toEqual({ fields: { n: 2, m: 1 }, whole: false, stamp: expect.any(Number) });
  });

  it('answers one state within a turn: a commit of another connection shows from the next turn on', async () => {
    await writer.commit('p', [increment('p:a', 'n', 1)], checkpoint(1n));
    await setImmediate();
    const first = await reader.countersSince('p:a', undefined);
    await writer.commit('p', [increment('p:a', 'n', 1)], checkpoint(2n));
    expect(await reader.countersSince('p:a', first.stamp)).toEqual({ fields: {}, whole: false, stamp: first.stamp });
    await setImmediate();
    expect((await reader.countersSince('p:a', first.stamp)).fields).toEqual({ n: 2 });
  });
});

describe('embedded read-model store, documents kept between reads', () => {
  const fileFor = freshFile('read-models-cache-');
  let file: string;
  let reader: EmbeddedReadModelStore;
  let writer: EmbeddedReadModelStore;

  beforeEach(() => {
    file = fileFor();
    reader = EmbeddedReadModelStore.open(file);
    writer = EmbeddedReadModelStore.open(file);
  });
  afterEach(async () => {
    await reader.close();
    await writer.close();
  });

  const put = (id: string, n: number): ReadModelChange => ({ kind: 'put', collection: 'p:doc', id, document: { n } });
  /** The reader's documents, each read in a turn of its own, as a reader in another process would; read frozen too, the same. */
  async function read(...ids: string[]): Promise<ReadonlyArray<unknown>> {
    await setImmediate();
    const many = await reader.getMany('p:doc', ids);
    await setImmediate();
    const one = await reader.get('p:doc', ids[0]!);
    expect(one).toEqual(many[0]);
    await setImmediate();
    expect(await reader.getMany('p:doc', ids, { frozen: true })).toEqual(many);
    return many;
  }

  it('given documents a reader has read, when another connection changes them, then the reader reads the change', async () => {
    await writer.commit('p', [put('a', 1), put('b', 1)], checkpoint(1n));
    expect(await read('a', 'b')).toEqual([{ n: 1 }, { n: 1 }]);
    await writer.commit('p', [put('a', 2), { kind: 'delete', collection: 'p:doc', id: 'b' }], checkpoint(2n));
    expect(await read('a', 'b')).toEqual([{ n: 2 }, undefined]);
  });

  it('given documents a reader has read, when a catch-up commit or a reset changes them without naming them, then the reader reads the change', async () => {
    await writer.commit('p', [put('a', 1)], checkpoint(1n));
    expect(await read('a')).toEqual([{ n: 1 }]);
    await writer.commit('p', [put('a', 2)], checkpoint(2n), { catchingUp: true });
    expect(await read('a')).toEqual([{ n: 2 }]);
    await writer.reset('p');
    expect(await read('a')).toEqual([undefined]);
  });

  it('given a reader behind the pruned part of the log, then it drops what it kept rather than miss a change', async () => {
    await writer.commit('p', [put('a', 1), put('b', 1)], checkpoint(1n));
    expect(await read('a', 'b')).toEqual([{ n: 1 }, { n: 1 }]);
    await writer.commit('p', [put('a', 2)], checkpoint(2n));
    await writer.commit('p', [put('b', 2)], checkpoint(3n));
    // As pruning would leave it once the reader has fallen far enough behind: the change to `a` is gone from the log.
    const outside = new Database(file);
    try {
      outside.prepare('DELETE FROM document_changes WHERE seq < (SELECT max(seq) FROM document_changes)').run();
    } finally {
      outside.close();
    }
    expect(await read('a', 'b')).toEqual([{ n: 2 }, { n: 2 }]);
  });

  it('prunes the log of changes as it grows, keeping the newest', async () => {
    for (let batch = 0; batch < 9; batch++) {
      await writer.commit('p', Array.from({ length: 8_192 }, (_, i) => put(`d${i}`, batch)), checkpoint(BigInt(batch + 1)));
    }
    const outside = new Database(file, { readonly: true });
    try {
      const { rows, newest } = outside.prepare('SELECT count(*) AS rows, max(seq) AS newest FROM document_changes').get() as { rows: number; newest: number };
      expect(newest).toBe(9 * 8_192);
      expect(rows).toBeGreaterThanOrEqual(65_536);
      expect(rows).toBeLessThan(65_536 + 4_096);
    } finally {
      outside.close();
    }
    expect(await read('d0', 'd8191')).toEqual([{ n: 8 }, { n: 8 }]);
  });

  it('reads the bounds of the log from its two ends, never a scan of the rows it keeps', () => {
    const db = new Database(file, { readonly: true });
    try {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${prepareStatements(db).changeBounds.source}`).all() as Array<{ detail: string }>;
      expect(plan.map(({ detail }) => detail)).toEqual(expect.arrayContaining([expect.stringMatching(/^SEARCH document_changes/)]));
      expect(plan.filter(({ detail }) => /^SCAN document_changes/.test(detail))).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('hands the same frozen document to every frozen read until it changes', async () => {
    await writer.commit('p', [put('a', 1)], checkpoint(1n));
    await read('a');
    const [first] = await reader.getMany('p:doc', ['a'], { frozen: true });
    await setImmediate();
    const [again] = await reader.getMany('p:doc', ['a'], { frozen: true });
    expect(again).toBe(first);
    await writer.commit('p', [put('a', 2)], checkpoint(2n));
    await setImmediate();
    const [changed] = await reader.getMany('p:doc', ['a'], { frozen: true });
    expect(changed).not.toBe(first);
    expect(changed).toEqual({ n: 2 });
  });

  it('hands out a fresh document each time: changing one read changes nothing kept', async () => {
    await writer.commit('p', [put('a', 1)], checkpoint(1n));
    const [first] = (await read('a')) as Array<{ n: number }>;
    first!.n = 99;
    expect(await read('a')).toEqual([{ n: 1 }]);
  });
});

describe('embedded read-model store, staged index entries', () => {
  const fileFor = freshFile('read-models-staged-');
  let file: string;

  beforeEach(() => {
    file = fileFor();
  });

  function stagedRows(): number {
    const db = new Database(file, { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM staged_index_entries').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  it('stages a fresh projection\'s catch-up, and a reader on another connection merges before it reads', async () => {
    const writer = EmbeddedReadModelStore.open(file);
    const reader = EmbeddedReadModelStore.open(file);
    try {
      await writer.commit('p', [{ kind: 'index', index: 'p:x', member: 'a', score: 1 }], checkpoint(1n), { catchingUp: true });
      await writer.commit('p', [{ kind: 'index', index: 'p:x', member: 'a', score: 4 }], checkpoint(2n), { catchingUp: true });
      expect(stagedRows()).toBe(2);
      expect(await reader.range('p:x', { limit: 10 })).toEqual([{ member: 'a', score: 4 }]);
      expect(stagedRows()).toBe(0);
      // Merged, the projection has a checkpoint: later catch-up commits write their entries in place.
      await writer.commit('p', [{ kind: 'index', index: 'p:x', member: 'b', score: 2 }], checkpoint(3n), { catchingUp: true });
      expect(stagedRows()).toBe(0);
      expect(await writer.count('p:x')).toBe(2);
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it('does not stage a projection that already has a checkpoint, nor a commit that is not a catch-up\'s', async () => {
    const store = EmbeddedReadModelStore.open(file);
    try {
      await store.commit('p', [{ kind: 'index', index: 'p:x', member: 'a', score: 1 }], checkpoint(1n));
      await store.commit('p', [{ kind: 'index', index: 'p:x', member: 'b', score: 1 }], checkpoint(2n), { catchingUp: true });
      expect(stagedRows()).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('keeps staged entries committed with their checkpoint across a close, for the catch-up to go on', async () => {
    const first = EmbeddedReadModelStore.open(file);
    await first.commit('p', [{ kind: 'index', index: 'p:x', member: 'a', score: 1 }], checkpoint(1n), { catchingUp: true });
    // A commit that fails stages nothing and keeps the checkpoint.
    await expect(
      first.commit('p', [{ kind: 'index', index: 'p:x', member: 'b', score: 2 }, { kind: 'increment', counter: 'p:c', field: 'n', by: Number.NaN }], checkpoint(2n), {
        catchingUp: true,
      }),
    ).rejects.toThrow();
    await first.close();
    expect(stagedRows()).toBe(1);

    const second = EmbeddedReadModelStore.open(file);
    try {
      expect((await second.checkpoint('p'))?.eventsProcessed).toBe(1);
      await second.commit('p', [{ kind: 'unindex', index: 'p:x', member: 'a' }, { kind: 'index', index: 'p:x', member: 'c', score: 3 }], checkpoint(2n), {
        catchingUp: true,
      });
      expect(stagedRows()).toBe(3);
      await second.settle('p');
      expect(stagedRows()).toBe(0);
      expect(await second.range('p:x', { limit: 10 })).toEqual([{ member: 'c', score: 3 }]);
    } finally {
      await second.close();
    }
  });
});

describe('embedded read-model store, catch-up commits on a thread of their own', () => {
  const fileFor = freshFile('read-models-catch-up-');
  let file: string;
  let store: EmbeddedReadModelStore;

  beforeEach(() => {
    file = fileFor();
    store = EmbeddedReadModelStore.open(file);
  });

  afterEach(() => store.close());

  const put = (id: string, value: number): ReadModelChange => ({ kind: 'put', collection: 'p:doc', id, document: { value } });
  const threadOf = (of: EmbeddedReadModelStore) => (of as unknown as { catchUps: { worker?: Worker } }).catchUps.worker;

  it('given catch-up commits, when each resolves, then the thread made it and the store reads it', async () => {
    await store.commit('p', [put('a', 1), { kind: 'increment', counter: 'p:c', field: 'n', by: 1 }], checkpoint(1n), { catchingUp: true });
    expect(await store.get('p:doc', 'a')).toEqual({ value: 1 });
    await store.commit('p', [put('a', 2), { kind: 'index', index: 'p:x', member: 'a', score: 5 }], checkpoint(2n), { catchingUp: true });

    expect(store.stats.catchUpCommits).toBe(2);
    expect(await store.get('p:doc', 'a')).toEqual({ value: 2 });
    expect(await store.counters('p:c')).toEqual({ n: 1 });
    expect(await store.range('p:x', { limit: 10 })).toEqual([{ member: 'a', score: 5 }]);
    expect((await store.checkpoint('p'))?.eventsProcessed).toBe(2);
  });

  it('given a catch-up commit under way, when a commit, a settle or a reset follows on the store\'s own connection, then it lands after it', async () => {
    const catchingUp = store.commit('p', [put('a', 1), { kind: 'index', index: 'p:x', member: 'a', score: 1 }], checkpoint(1n), { catchingUp: true });
    const live = store.commit('p', [put('a', 2)], checkpoint(2n));
    await Promise.all([catchingUp, live]);
    expect(await store.get('p:doc', 'a')).toEqual({ value: 2 });
    expect((await store.checkpoint('p'))?.eventsProcessed).toBe(2);

    await store.reset('p');
    const staged = store.commit('p', [{ kind: 'index', index: 'p:x', member: 'b', score: 3 }], checkpoint(3n), { catchingUp: true });
    await store.settle('p');
    await staged;
    expect(await store.range('p:x', { limit: 10 })).toEqual([{ member: 'b', score: 3 }]);

    const beforeReset = store.commit('p', [put('c', 1)], checkpoint(4n), { catchingUp: true });
    await store.reset('p');
    await beforeReset;
    expect(await store.get('p:doc', 'c')).toBeUndefined();
    expect(await store.checkpoint('p')).toBeUndefined();
  });

  it('given a catch-up commit under way, when the store closes, then the commit lands first', async () => {
    const committing = store.commit('p', [put('a', 1)], checkpoint(1n), { catchingUp: true });
    await store.close();
    await committing;

    const reopened = EmbeddedReadModelStore.open(file);
    try {
      expect(await reopened.get('p:doc', 'a')).toEqual({ value: 1 });
      expect((await reopened.checkpoint('p'))?.eventsProcessed).toBe(1);
    } finally {
      await reopened.close();
    }
  });

  it('given a catch-up commit SQLite refuses in the thread, then it rejects with SQLite\'s error, lands nothing, and the next one commits', async () => {
    await store.commit('p', [put('a', 1)], checkpoint(1n), { catchingUp: true });
    const outside = new Database(file);
    try {
      outside.exec("CREATE TRIGGER refuse BEFORE INSERT ON counters BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END");
      await expect(store.commit('p', [put('a', 2), { kind: 'increment', counter: 'p:c', field: 'n', by: 1 }], checkpoint(2n), { catchingUp: true })).rejects.toThrow(
        expect.objectContaining({ message: 'refused by a trigger', code: 'SQLITE_CONSTRAINT_TRIGGER' }),
      );
      expect(await store.get('p:doc', 'a')).toEqual({ value: 1 });
      expect((await store.checkpoint('p'))?.eventsProcessed).toBe(1);
      outside.exec('DROP TRIGGER refuse');
    } finally {
      outside.close();
    }
    await store.commit('p', [put('a', 3)], checkpoint(2n), { catchingUp: true });
    expect(await store.get('p:doc', 'a')).toEqual({ value: 3 });
  });

  it('given the thread ended, when the next catch-up commit comes, then another thread makes it', async () => {
    await store.commit('p', [put('a', 1)], checkpoint(1n), { catchingUp: true });
    const first = threadOf(store);
    await first?.terminate();
    await setImmediate();

    await store.commit('p', [put('a', 2)], checkpoint(2n), { catchingUp: true });
    expect(threadOf(store)).toBeDefined();
    expect(threadOf(store)).not.toBe(first);
    expect(await store.get('p:doc', 'a')).toEqual({ value: 2 });
  });

  it('given changes the thread cannot be handed, then that commit rejects and nothing stays under way', async () => {
    const thread = new CatchUpThread(file);
    try {
      const uncloneable = { documents: new Map(), counters: new Map(), indexes: new Map([['p:x', () => 1]]) } as unknown as NetChanges;
      await expect(thread.commit('p', uncloneable, checkpoint(1n))).rejects.toThrow(/could not be cloned/);
      expect(thread.busy).toBe(false);
      await thread.commit('p', { documents: new Map(), counters: new Map([['p:c', new Map([['n', 1]])]]), indexes: new Map() }, checkpoint(1n));
      expect(await store.counters('p:c')).toEqual({ n: 1 });
    } finally {
      await thread.close();
    }
  });

  it('keeps a process waiting only for a catch-up commit alive until it lands, and no longer', () => {
    const storeModule = path.join(__dirname, 'embedded-read-model-store.ts');
    const script = `
      const { EmbeddedReadModelStore } = require(${JSON.stringify(storeModule)});
      const store = EmbeddedReadModelStore.open(${JSON.stringify(file)});
      const at = (n) => ({ position: { commit: BigInt(n), prepare: BigInt(n) }, eventsProcessed: n, lastRecordedAt: '2026-01-01T00:00:00.000Z' });
      const fields = Array.from({ length: 50000 }, (_, i) => ({ kind: 'increment', counter: 'p:c', field: 'f' + i, by: 1 }));
      // The first starts the thread; the second, long enough to outlast a turn or two, runs on it.
      store.commit('p', fields.slice(0, 1), at(1), { catchingUp: true })
        .then(() => store.commit('p', fields, at(2), { catchingUp: true }))
        .then(() => console.log('committed'));
    `;
    const registerTs = path.join(__dirname, '../../../../scripts/register-ts.js');
    // Exits by itself: the thread holds the process open only while a commit is under way.
    const output = execFileSync(process.execPath, ['--require', registerTs, '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(output.trim()).toBe('committed');
    const written = new Database(file, { readonly: true });
    try {
      expect(written.prepare("SELECT sum(value) FROM counters WHERE counter = 'p:c'").pluck().get()).toBe(50_001);
    } finally {
      written.close();
    }
  });
});

describe('embedded read-model store, the reads of one turn of the event loop', () => {
  const fileFor = freshFile('read-models-turn-');
  let file: string;
  let store: EmbeddedReadModelStore;
  let other: EmbeddedReadModelStore;

  beforeEach(() => {
    file = fileFor();
    store = EmbeddedReadModelStore.open(file);
    other = EmbeddedReadModelStore.open(file);
  });

  afterEach(async () => {
    await store.close();
    await other.close();
  });

  async function readFresh<T>(read: (fresh: EmbeddedReadModelStore) => Promise<T>): Promise<T> {
    const fresh = EmbeddedReadModelStore.open(file);
    try {
      return await read(fresh);
    } finally {
      await fresh.close();
    }
  }
  const add = (by: number): ReadModelChange[] => [{ kind: 'increment', counter: 'p:totals', field: 'n', by }];

  it('share one snapshot: another connection\'s commit shows from the next turn on', async () => {
    // Given a read in this turn
    await other.commit('p', add(1), checkpoint(1n));
    expect(await store.counters('p:totals')).toEqual({ n: 1 });
    // When another connection commits before the turn ends
    await other.commit('p', add(1), checkpoint(2n));
    // Then the turn's later reads answer from the state its first read saw
    expect(await store.counters('p:totals')).toEqual({ n: 1 });
    expect((await store.checkpoint('p'))?.position.commit).toBe(1n);
    // And the next turn's reads see the commit
    await setImmediate();
    expect(await store.counters('p:totals')).toEqual({ n: 2 });
    expect((await store.checkpoint('p'))?.position.commit).toBe(2n);
  });

  it('end before a commit or a reset on the same connection, which is then committed for every connection', async () => {
    // Given a read in this turn
    expect(await store.counters('p:totals')).toEqual({});
    // When the same connection commits within the turn
    await store.commit('p', add(1), checkpoint(1n));
    // Then the commit is committed, not held in the turn's transaction: a connection opened now reads it
    expect(await readFresh((fresh) => fresh.counters('p:totals'))).toEqual({ n: 1 });
    expect(await store.counters('p:totals')).toEqual({ n: 1 });
    // And so is a reset after another read
    await store.reset('p');
    expect(await readFresh((fresh) => fresh.checkpoint('p'))).toBeUndefined();
  });

  it('end before the merge a read makes, and go on reading after it', async () => {
    // Given a projection whose catch-up staged its index entries, and a read in this turn
    await other.commit('p', [{ kind: 'index', index: 'p:x', member: 'a', score: 1 }], checkpoint(1n), { catchingUp: true });
    expect(await store.counters('p:totals')).toEqual({});
    // When a range in the same turn merges them first
    expect(await store.range('p:x', { limit: 10 })).toEqual([{ member: 'a', score: 1 }]);
    // Then the merge is committed for every connection, and the turn reads on
    expect(await readFresh((fresh) => fresh.count('p:x'))).toBe(1);
    expect(await store.count('p:x')).toBe(1);
  });

  it('end when the store closes mid-turn', async () => {
    expect(await store.counters('p:totals')).toEqual({});
    await store.close();
    await setImmediate();
    await other.commit('p', add(1), checkpoint(1n));
    expect(await other.counters('p:totals')).toEqual({ n: 1 });
  });
});

describe('embedded read-model store, the score index around a merge or a reset', () => {
  const fileFor = freshFile('read-models-merge-');
  let file: string;
  let store: EmbeddedReadModelStore;
  let outside: Database.Database;

  beforeEach(() => {
    file = fileFor();
    store = EmbeddedReadModelStore.open(file);
    outside = new Database(file);
  });

  afterEach(async () => {
    outside.close();
    await store.close();
  });

  // SQLite counts every change to the schema: dropping and creating the index moves it, a merge alone does not.
  // A failure injected into the statement that runs after the index is dropped: the whole transaction
  // must then roll back. (A trigger raising on the same row did not fire reliably when this file ran
  // after the event store's tests in one process; the cause was not found.)
  // Runs the action with the statement refusing once, and checks that the action failed there and left the schema as it was.
  async function refusedAt(statement: 'resetIndexes' | 'mergeStaged', action: () => Promise<unknown>): Promise<void> {
    const statements = (store as unknown as { statements: Record<typeof statement, { run: () => unknown }> }).statements;
    const refusing = jest.spyOn(statements[statement], 'run').mockImplementation(() => {
      throw new Error('refused');
    });
    const before = schemaVersion();
    await expect(action()).rejects.toThrow('refused');
    expect(refusing).toHaveBeenCalledTimes(1);
    refusing.mockRestore();
    expect(schemaVersion()).toBe(before);
  }
  const schemaVersion = () => Number(outside.pragma('schema_version', { simple: true }));
  // Every index agrees with its table, entry for entry.
  const intact = () => outside.pragma('integrity_check', { simple: true });
  const entries = (prefix: string, count: number, score: (i: number) => number): ReadModelChange[] =>
    Array.from({ length: count }, (_, i) => ({ kind: 'index', index: 'q:by-n', member: `${prefix}${i}`, score: score(i) }));

  async function stage(projection: string, changes: ReadModelChange[]): Promise<void> {
    await store.commit(projection, changes.slice(0, 2), checkpoint(1n), { catchingUp: true });
    await store.commit(projection, changes.slice(2), checkpoint(2n), { catchingUp: true });
  }

  it('builds the score index afresh for a merge of more changes than the index holds', async () => {
    await store.commit('p', entries('p', 3, (i) => i).map((change) => ({ ...change, index: 'p:by-n' })), checkpoint(1n));
    await stage('q', entries('q', 5, (i) => -i));
    const before = schemaVersion();

    await store.settle('q');

    expect(schemaVersion()).toBeGreaterThan(before);
    expect(outside.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'index_entries_by_score'").get()).toEqual({ n: 1 });
    expect((await store.range('q:by-n', { limit: 10 })).map((entry) => entry.member)).toEqual(['q4', 'q3', 'q2', 'q1', 'q0']);
    expect(await store.count('p:by-n', 1, 2)).toBe(2);
    expect(intact()).toBe('ok');
  });

  it('keeps the score index in place for a merge of fewer changes than the index holds', async () => {
    await store.commit('p', entries('p', 6, (i) => i).map((change) => ({ ...change, index: 'p:by-n' })), checkpoint(1n));
    await stage('q', entries('q', 5, (i) => -i));
    const before = schemaVersion();

    await store.settle('q');

    expect(schemaVersion()).toBe(before);
    expect((await store.range('q:by-n', { limit: 10 })).map((entry) => entry.member)).toEqual(['q4', 'q3', 'q2', 'q1', 'q0']);
    expect(intact()).toBe('ok');
  });

  it('builds the score index afresh for a reset of a projection holding at least a quarter of the entries, and keeps it in place otherwise', async () => {
    await store.commit('p', entries('p', 7, (i) => i).map((change) => ({ ...change, index: 'p:by-n' })), checkpoint(1n));
    await store.commit('q', entries('q', 3, (i) => -i), checkpoint(1n));
    await store.commit('r', entries('r', 2, (i) => i).map((change) => ({ ...change, index: 'r:by-n' })), checkpoint(1n));
    const before = schemaVersion();

    await store.reset('r');
    expect(schemaVersion()).toBe(before);
    await store.reset('q');
    expect(schemaVersion()).toBeGreaterThan(before);

    expect(await store.count('q:by-n')).toBe(0);
    expect(await store.count('r:by-n')).toBe(0);
    expect((await store.range('p:by-n', { limit: 10, reverse: true })).map((entry) => entry.member)).toEqual(['p6', 'p5', 'p4', 'p3', 'p2', 'p1', 'p0']);
    expect(intact()).toBe('ok');
  });

  it('leaves the index and the projection as they were when a reset fails', async () => {
    await store.commit('q', entries('q', 3, (i) => i), checkpoint(1n));
    await refusedAt('resetIndexes', () => store.reset('q'));

    expect((await store.range('q:by-n', { limit: 10 })).map((entry) => entry.member)).toEqual(['q0', 'q1', 'q2']);
    expect((await store.checkpoint('q'))?.eventsProcessed).toBe(1);
  });

  it('leaves the index, the staged entries and the checkpoint as they were when the merge fails, and merges once it can', async () => {
    await stage('q', entries('q', 5, (i) => i));
    await refusedAt('mergeStaged', () => store.settle('q'));

    expect(outside.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'index_entries_by_score'").get()).toEqual({ n: 1 });
    expect(outside.prepare('SELECT count(*) AS n FROM staged_index_entries').get()).toEqual({ n: 5 });
    expect(outside.prepare('SELECT count(*) AS n FROM index_entries').get()).toEqual({ n: 0 });
    expect((await store.checkpoint('q'))?.eventsProcessed).toBe(2);

    expect((await store.range('q:by-n', { limit: 10 })).map((entry) => entry.member)).toEqual(['q0', 'q1', 'q2', 'q3', 'q4']);
    expect(outside.prepare('SELECT count(*) AS n FROM staged_index_entries').get()).toEqual({ n: 0 });
  });
});

function checkpoint(commit: bigint) {
  return { position: { commit, prepare: commit }, eventsProcessed: Number(commit), lastRecordedAt: '2026-01-01T00:00:00.000Z' };
}
