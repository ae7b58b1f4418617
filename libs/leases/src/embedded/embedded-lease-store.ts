import Database from 'better-sqlite3';
import { ensureSqliteSchema, useWal } from '@deals/platform';
import { checkLeaseArguments, type LeaseStore } from '../lease-store.port';

const schemaVersion = 1;
const schema = `CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL) STRICT;`;

/**
 * Leases in a SQLite file: every process of one machine that opens the same file competes for the
 * same leases. Expiry is by the machine's wall clock, which all of them share. Each call is one
 * IMMEDIATE transaction, so two processes never both see a lease free.
 */
export class EmbeddedLeaseStore implements LeaseStore {
  private readonly take: (name: string, owner: string, ttlMs: number) => boolean;
  private readonly extend: (name: string, owner: string, ttlMs: number) => boolean;
  private readonly drop: (name: string, owner: string) => boolean;
  private readonly current: (name: string) => string | undefined;

  private constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {
    const select = db.prepare<[string], { owner: string; expires_at: number }>('SELECT owner, expires_at FROM leases WHERE name = ?');
    const upsert = db.prepare<[string, string, number]>(
      'INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at',
    );
    const update = db.prepare<[number, string, string, number]>('UPDATE leases SET expires_at = ? WHERE name = ? AND owner = ? AND expires_at > ?');
    const remove = db.prepare<[string, string, number]>('DELETE FROM leases WHERE name = ? AND owner = ? AND expires_at > ?');
    const take = db.transaction((name: string, owner: string, ttlMs: number) => {
      const at = this.now();
      const row = select.get(name);
      if (row !== undefined && row.owner !== owner && row.expires_at > at) return false;
      upsert.run(name, owner, at + ttlMs);
      return true;
    });
    this.take = (name, owner, ttlMs) => take.immediate(name, owner, ttlMs);
    this.extend = (name, owner, ttlMs) => {
      const at = this.now();
      return update.run(at + ttlMs, name, owner, at).changes === 1;
    };
    this.drop = (name, owner) => remove.run(name, owner, this.now()).changes === 1;
    this.current = (name) => {
      const row = select.get(name);
      return row !== undefined && row.expires_at > this.now() ? row.owner : undefined;
    };
  }

  /** `now` is the wall clock in epoch ms; every process sharing the file must use the same one. */
  static open(path: string, now: () => number = Date.now): EmbeddedLeaseStore {
    const db = new Database(path);
    try {
      useWal(db, path, 5_000);
      // A lease lost in a power cut is only a lease to take again; the fence is the holder's clock.
      db.pragma('synchronous = NORMAL');
      ensureSqliteSchema(db, path, schemaVersion, schema);
    } catch (error) {
      db.close();
      throw error;
    }
    return new EmbeddedLeaseStore(db, now);
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkLeaseArguments(name, owner, ttlMs);
    return this.take(name, owner, ttlMs);
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkLeaseArguments(name, owner, ttlMs);
    return this.extend(name, owner, ttlMs);
  }

  async release(name: string, owner: string): Promise<boolean> {
    checkLeaseArguments(name, owner);
    return this.drop(name, owner);
  }

  async holder(name: string): Promise<string | undefined> {
    checkLeaseArguments(name, undefined);
    return this.current(name);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
