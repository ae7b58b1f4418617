import { startWalCheckpoints, useWal, type WalCheckpoints, type WalCheckpointsStats } from '@deals/platform';
import Database from 'better-sqlite3';
import { type ClaimResult, type IdempotencyClaim, type IdempotencyStore, idempotencyKeyTtlMs } from '../idempotency-store.port';

interface ClaimRow {
  request_hash: string;
  deal_id: string;
  command_id: string;
}

interface PendingClaim {
  readonly scopedKey: string;
  readonly claim: IdempotencyClaim;
  readonly resolve: (result: ClaimResult) => void;
  readonly reject: (error: unknown) => void;
}

export interface EmbeddedIdempotencyStoreStats {
  /** Write transactions committed: one per batch of claims. */
  readonly flushes: number;
  readonly claims: number;
}

export interface EmbeddedIdempotencyStoreOptions {
  readonly now?: () => number;
  /** How often a thread of its own copies the log into the file (startWalCheckpoints). */
  readonly checkpointIntervalMs?: number;
  /** Told when that thread fails; the store's own checkpoints then carry on as before, with their stalls. */
  readonly onCheckpointError?: (message: string) => void;
}

const defaultCheckpointIntervalMs = 250;

/**
 * Claims in a local SQLite file. A claim lost in a power cut is harmless: command and deal ids are
 * derived from the key, so a retry still finds its first outcome in the deal's stream. Hence
 * synchronous=NORMAL here, where the event store itself uses FULL.
 *
 * Claims are group-committed: those made in one turn of the event loop share one transaction, as
 * appends do in the event store, so a busy server pays one SQLite commit per batch, not per request.
 */
export class EmbeddedIdempotencyStore implements IdempotencyStore {
  // One statement for the usual case: a free key, or one whose holder has expired, is taken and
  // returned; a key held by a live claim returns no row and is then read.
  private readonly take: Database.Statement<[string, string, string, string, number, number], ClaimRow>;
  private readonly select: Database.Statement<[string], ClaimRow>;
  private readonly purge: Database.Statement<[number]>;
  private readonly writeBatch: Database.Transaction<(batch: readonly PendingClaim[], now: number) => ClaimResult[]>;
  private queue: PendingClaim[] = [];
  private flushHandle: NodeJS.Immediate | undefined;
  private flushes = 0;
  private claims = 0;
  private closed = false;

  private constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
    private readonly checkpoints: WalCheckpoints,
  ) {
    this.take = db.prepare(
      `INSERT INTO idempotency_claims (scoped_key, request_hash, deal_id, command_id, created)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (scoped_key) DO UPDATE SET
         request_hash = excluded.request_hash, deal_id = excluded.deal_id,
         command_id = excluded.command_id, created = excluded.created
       WHERE idempotency_claims.created < ?
       RETURNING request_hash, deal_id, command_id`,
    );
    this.select = db.prepare('SELECT request_hash, deal_id, command_id FROM idempotency_claims WHERE scoped_key = ?');
    this.purge = db.prepare('DELETE FROM idempotency_claims WHERE created < ?');
    this.writeBatch = db.transaction((batch: readonly PendingClaim[], now: number) =>
      batch.map(({ scopedKey, claim }): ClaimResult => {
        const taken = this.take.get(scopedKey, claim.requestHash, claim.dealId, claim.commandId, now, now - idempotencyKeyTtlMs);
        if (taken) return { claim, created: true };
        const row = this.select.get(scopedKey);
        if (!row) throw new Error('Idempotency claim vanished inside its transaction');
        return { claim: { requestHash: row.request_hash, dealId: row.deal_id, commandId: row.command_id }, created: false };
      }),
    );
  }

  static open(path: string, options: EmbeddedIdempotencyStoreOptions = {}): EmbeddedIdempotencyStore {
    const { now = Date.now, checkpointIntervalMs = defaultCheckpointIntervalMs, onCheckpointError } = options;
    const db = new Database(path);
    useWal(db, path, 5_000);
    db.pragma('synchronous = NORMAL');
    // Under NORMAL only checkpoints fsync. Every claim dirties a page of its own (keys are random), so
    // the default of 1,000 pages checkpointed every few hundred claims; 10,000 (a WAL of up to 40 MB)
    // makes that ten times rarer and writes back the interior pages that every commit rewrites once
    // instead of ten times: 68 → 42 µs of event-loop time per claim. The copying itself is done by
    // the checkpoint thread below, so the commit that reaches 10,000 pages finds little left to copy.
    db.pragma('wal_autocheckpoint = 10000');
    db.exec(`CREATE TABLE IF NOT EXISTS idempotency_claims (
      scoped_key TEXT PRIMARY KEY,
      request_hash TEXT NOT NULL,
      deal_id TEXT NOT NULL,
      command_id TEXT NOT NULL,
      created INTEGER NOT NULL
    ) WITHOUT ROWID`);
    const store = new EmbeddedIdempotencyStore(db, now, startWalCheckpoints(path, checkpointIntervalMs, onCheckpointError));
    store.purge.run(now() - idempotencyKeyTtlMs);
    return store;
  }

  get stats(): EmbeddedIdempotencyStoreStats {
    return { flushes: this.flushes, claims: this.claims };
  }

  /** The checkpoint thread's passes and last failure. */
  get checkpointStats(): WalCheckpointsStats {
    return this.checkpoints.stats;
  }

  claim(scope: string, key: string, claim: IdempotencyClaim): Promise<ClaimResult> {
    if (this.closed) return Promise.reject(new Error('The idempotency store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ scopedKey: `${scope}\u0000${key}`, claim, resolve, reject });
      this.flushHandle ??= setImmediate(() => this.flush());
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.flushHandle) clearImmediate(this.flushHandle);
    this.flush();
    // The thread's connection first: the last one to close copies the log and removes it.
    await this.checkpoints.close();
    this.db.close();
  }

  private flush(): void {
    this.flushHandle = undefined;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    let results: ClaimResult[];
    try {
      // IMMEDIATE: take the write lock up front, as another process may share the file.
      results = this.writeBatch.immediate(batch, this.now());
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    this.flushes++;
    this.claims += batch.length;
    batch.forEach((pending, index) => pending.resolve(results[index]!));
  }
}
