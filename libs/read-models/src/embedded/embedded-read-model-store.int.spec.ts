import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describeReadModelStoreConformance } from '../testing/read-model-store-conformance';
import { EmbeddedReadModelStore } from './embedded-read-model-store';

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

describe('embedded read-model store, on a file of schema version 1', () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'read-models-v1-'));
    file = path.join(dir, 'read-models.sqlite');
    // The index table as version 1 wrote it: the index's name as text in every entry.
    const db = new Database(file);
    db.exec(`
      CREATE TABLE documents (collection TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (collection, id)) STRICT;
      CREATE TABLE counters (counter TEXT NOT NULL, field TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (counter, field)) STRICT, WITHOUT ROWID;
      CREATE TABLE index_entries (name TEXT NOT NULL, member TEXT NOT NULL, score REAL NOT NULL, PRIMARY KEY (name, member)) STRICT, WITHOUT ROWID;
      CREATE INDEX index_entries_by_score ON index_entries (name, score, member);
      CREATE TABLE checkpoints (projection TEXT PRIMARY KEY, commit_position TEXT NOT NULL, prepare_position TEXT NOT NULL,
        events_processed INTEGER NOT NULL, last_recorded_at TEXT NOT NULL) STRICT, WITHOUT ROWID;
      INSERT INTO documents VALUES ('p:doc', 'a', '{"n":1}');
      INSERT INTO index_entries VALUES ('p:by-n', 'a', 1), ('p:by-n', 'b', 2), ('p:other', 'a', 5);
      INSERT INTO checkpoints VALUES ('p', '7', '7', 7, '2026-01-01T00:00:00.000Z');
      PRAGMA user_version = 1;
    `);
    db.close();
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('moves its index entries to numbered names and keeps everything else', async () => {
    const store = EmbeddedReadModelStore.open(file);
    try {
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
    } finally {
      await store.close();
    }
    // Opened again, the file is at the current version: nothing migrates twice.
    const again = EmbeddedReadModelStore.open(file);
    try {
      expect(await again.count('p:by-n')).toBe(3);
    } finally {
      await again.close();
    }
  });
});
