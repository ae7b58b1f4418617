import Database from 'better-sqlite3';
import { type ClaimResult, type IdempotencyClaim, type IdempotencyStore, idempotencyKeyTtlMs } from '../idempotency-store.port';

interface ClaimRow {
  request_hash: string;
  deal_id: string;
  command_id: string;
}

/**
 * Claims in a local SQLite file. A claim lost in a power cut is harmless: command and deal ids are
 * derived from the key, so a retry still finds its first outcome in the deal's stream. Hence
 * synchronous=NORMAL here, where the event store itself uses FULL.
 */
export class EmbeddedIdempotencyStore implements IdempotencyStore {
  private readonly insert: Database.Statement<[string, string, string, string, number]>;
  private readonly select: Database.Statement<[string], ClaimRow>;
  private readonly purge: Database.Statement<[number]>;
  private readonly expire: Database.Statement<[string, number]>;

  private constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {
    this.insert = db.prepare(
      `INSERT INTO idempotency_claims (scoped_key, request_hash, deal_id, command_id, created)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (scoped_key) DO NOTHING`,
    );
    this.select = db.prepare('SELECT request_hash, deal_id, command_id FROM idempotency_claims WHERE scoped_key = ?');
    this.purge = db.prepare('DELETE FROM idempotency_claims WHERE created < ?');
    this.expire = db.prepare('DELETE FROM idempotency_claims WHERE scoped_key = ? AND created < ?');
  }

  static open(path: string, now: () => number = Date.now): EmbeddedIdempotencyStore {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE IF NOT EXISTS idempotency_claims (
      scoped_key TEXT PRIMARY KEY,
      request_hash TEXT NOT NULL,
      deal_id TEXT NOT NULL,
      command_id TEXT NOT NULL,
      created INTEGER NOT NULL
    ) WITHOUT ROWID`);
    const store = new EmbeddedIdempotencyStore(db, now);
    store.purge.run(now() - idempotencyKeyTtlMs);
    return store;
  }

  async claim(scope: string, key: string, claim: IdempotencyClaim): Promise<ClaimResult> {
    const scopedKey = `${scope}\u0000${key}`;
    const now = this.now();
    const claimIfFree = this.db.transaction((): ClaimResult => {
      this.expire.run(scopedKey, now - idempotencyKeyTtlMs);
      const inserted = this.insert.run(scopedKey, claim.requestHash, claim.dealId, claim.commandId, now).changes > 0;
      if (inserted) return { claim, created: true };
      const row = this.select.get(scopedKey);
      if (!row) throw new Error('Idempotency claim vanished inside its transaction');
      return { claim: { requestHash: row.request_hash, dealId: row.deal_id, commandId: row.command_id }, created: false };
    });
    return claimIfFree.immediate();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
