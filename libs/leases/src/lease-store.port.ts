/**
 * The lease port: a named lease held by one owner token at a time until its TTL runs out, so that of
 * several processes able to do some work (the projector, the relay) exactly one does it. Adapters:
 * embedded (a SQLite file shared by the processes of one machine) and Redis.
 *
 * Expiry is the store's business (the SQLite file's wall clock, Redis's own TTL); how long the holder
 * may still act is the holder's, on its own monotonic clock: see LeaderElection.
 */
export interface LeaseStore {
  /** Takes the lease when it is free or expired, or extends it when `owner` holds it; true when `owner` now holds it for `ttlMs`. */
  acquire(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease only while `owner` holds it; false when it expired or someone else holds it. */
  renew(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up when `owner` holds it, so a standby takes over without waiting for the TTL; false otherwise. */
  release(name: string, owner: string): Promise<boolean>;
  /** The owner token holding the lease now, or undefined when it is free. */
  holder(name: string): Promise<string | undefined>;
  close(): Promise<void>;
}

const namePattern = /^[A-Za-z0-9._-]{1,200}$/;

/** Names and owners are short printable tokens; a TTL is a positive whole number of milliseconds. */
export function checkLeaseArguments(name: string, owner: string | undefined, ttlMs?: number): void {
  if (!namePattern.test(name)) throw new RangeError(`A lease name is 1 to 200 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(name)}`);
  if (owner !== undefined && (owner.length < 1 || owner.length > 200)) throw new RangeError('A lease owner is 1 to 200 characters');
  if (ttlMs !== undefined && (!Number.isSafeInteger(ttlMs) || ttlMs < 1)) throw new RangeError(`A lease TTL is a positive whole number of ms, got ${ttlMs}`);
}
