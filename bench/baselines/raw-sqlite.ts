// The physical limits of the embedded store's engine on this machine: better-sqlite3 with WAL and
// synchronous=FULL, no store logic, no index beyond the rowid. Each function opens its own file.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** An event as the raw writes store it: the same columns the store writes, already serialised. */
export interface RawEvent {
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
}

/** Inserts `events` rows, `perTransaction` to a committed (fsynced) transaction; answers events/s. */
export function rawAppendRate(events: readonly RawEvent[], total: number, perTransaction: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'bench-raw-sqlite-'));
  const db = new Database(join(dir, 'raw.sqlite'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE events (
      position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, revision INTEGER NOT NULL, event_id TEXT NOT NULL,
      type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, created INTEGER NOT NULL) STRICT`);
    const insert = db.prepare('INSERT INTO events (stream_id, revision, event_id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const write = db.transaction((from: number, count: number) => {
      const created = Date.now();
      for (let i = from; i < from + count; i++) {
        const event = events[i % events.length]!;
        insert.run(`deal-${i >> 3}`, i & 7, randomUUID(), event.type, event.data, event.metadata, created);
      }
    });
    const started = performance.now();
    for (let written = 0; written < total; written += perTransaction) write(written, Math.min(perTransaction, total - written));
    return total / ((performance.now() - started) / 1000);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Reads every row of an embedded store file in position order and JSON-parses data and metadata;
 * answers rows/s. Keyset pages of 1,000 rows with `.all()`: faster than `.iterate()` (one native
 * call per page, not per row), so the limit is the best plain reading, not an easy one.
 */
export function rawReadRate(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    const page = db
      .prepare<[number], unknown[]>(
        'SELECT position, stream_id, revision, event_id, type, data, metadata, created FROM events WHERE position > ? ORDER BY position LIMIT 1000',
      )
      .raw(true);
    let count = 0;
    const started = performance.now();
    for (let after = 0; ; ) {
      const rows = page.all(after);
      const last = rows.at(-1);
      if (last === undefined) break;
      for (const row of rows) {
        JSON.parse(row[5] as string);
        JSON.parse(row[6] as string);
      }
      count += rows.length;
      after = last[0] as number;
    }
    return count / ((performance.now() - started) / 1000);
  } finally {
    db.close();
  }
}
