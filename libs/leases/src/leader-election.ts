import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { LeaseStore } from './lease-store.port';

/** The work done only while holding the lease. start() begins it; stop() finishes the batch in hand and commits. */
export interface LeaderTask {
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

export interface LeaderElectionOptions {
  /** The lease's name: every process doing the same work uses the same one. */
  readonly name: string;
  /** How long the lease lasts without renewal. Default 15,000 ms. */
  readonly ttlMs?: number;
  /** How often the leader renews and a standby tries to take over. Default ttlMs / 5. */
  readonly renewEveryMs?: number;
  /** Writes stop once less than this is left of the lease by the local clock. Default ttlMs / 3. */
  readonly marginMs?: number;
  /** Default `<host>:<pid>:<random>`. */
  readonly owner?: string;
  /** The local monotonic clock, in ms. Default performance.now. */
  readonly now?: () => number;
  readonly log?: (message: string) => void;
}

export type LeaderRole = 'leader' | 'standby';

export interface LeaderElectionStatus {
  readonly lease: string;
  readonly owner: string;
  readonly role: LeaderRole;
  /** How long the lease still lasts by the local clock; 0 for a standby. */
  readonly remainingMs: number;
}

/** Thrown by a fenced write when the lease is not held with the margin left. */
export class LeaseNotHeldError extends Error {
  constructor(lease: string, detail: string) {
    super(`Lease ${lease} is not held with a safe margin left (${detail}): refusing to write`);
    this.name = 'LeaseNotHeldError';
  }
}

export const defaultLeaseTtlMs = 15_000;

/**
 * Active/standby over a lease: the process that holds it runs the task, the others wait and try to
 * take over every `renewEveryMs`. The leader counts its lease from the moment it *sent* the request
 * that took or renewed it, on its monotonic clock, so its own idea of the deadline is never later than
 * the store's. `assertHeld()` (the fence, see FencedReadModelStore) lets a write through only while
 * more than `marginMs` is left: a leader that stalls or loses the store stops writing `marginMs`
 * before anyone else can take the lease.
 */
export class LeaderElection {
  readonly owner: string;
  readonly name: string;
  private readonly ttlMs: number;
  private readonly renewEveryMs: number;
  private readonly marginMs: number;
  private readonly now: () => number;
  private readonly log: (message: string) => void;

  private validUntil = -Infinity;
  private leading = false;
  /** Set when the fence refused a write while leading: the term ends at the next tick and a new one starts. */
  private tripped = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Transitions (start or stop the task) run one after another. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: LeaseStore,
    private readonly task: LeaderTask,
    options: LeaderElectionOptions,
  ) {
    this.name = options.name;
    this.ttlMs = options.ttlMs ?? defaultLeaseTtlMs;
    this.renewEveryMs = options.renewEveryMs ?? Math.floor(this.ttlMs / 5);
    this.marginMs = options.marginMs ?? Math.floor(this.ttlMs / 3);
    if (!(this.renewEveryMs > 0 && this.marginMs > 0 && this.renewEveryMs + this.marginMs < this.ttlMs)) {
      throw new RangeError(`Lease ${this.name}: renewEveryMs (${this.renewEveryMs}) + marginMs (${this.marginMs}) must be positive and below ttlMs (${this.ttlMs})`);
    }
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.now = options.now ?? (() => performance.now());
    this.log = options.log ?? ((message) => console.error(message));
  }

  /** Tries once to take the lease (starting the task if it did), then keeps trying or renewing in the background. */
  async start(): Promise<void> {
    clearTimeout(this.timer);
    this.stopped = false;
    await this.tick();
    this.schedule();
  }

  /** Graceful: stops the task (it commits the batch in hand under the lease), then releases the lease for a standby. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.enqueue(async () => {
      if (!this.leading) return;
      await this.task.stop();
      this.leading = false;
      this.validUntil = -Infinity;
      await this.store.release(this.name, this.owner).catch((error: unknown) => this.log(`Releasing lease ${this.name} failed: ${String(error)}`));
      this.log(`Lease ${this.name}: released by ${this.owner}`);
    });
  }

  get role(): LeaderRole {
    return this.leading ? 'leader' : 'standby';
  }

  /** The fence: throws unless this process leads with more than the margin left of its lease. */
  assertHeld(): void {
    if (!this.leading) throw new LeaseNotHeldError(this.name, 'standing by');
    const remaining = this.validUntil - this.now();
    if (remaining <= this.marginMs) {
      // The task has failed its write; if the lease is still ours, the next tick restarts it from its checkpoint.
      this.tripped = true;
      throw new LeaseNotHeldError(this.name, `${Math.round(remaining)} ms left, margin ${this.marginMs} ms`);
    }
  }

  status(): LeaderElectionStatus {
    return { lease: this.name, owner: this.owner, role: this.role, remainingMs: this.leading ? Math.max(0, Math.round(this.validUntil - this.now())) : 0 };
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, this.renewEveryMs);
  }

  private tick(): Promise<void> {
    return this.enqueue(async () => {
      if (this.stopped) return;
      const sentAt = this.now();
      let held: boolean | undefined;
      try {
        held = this.leading ? await this.store.renew(this.name, this.owner, this.ttlMs) : await this.store.acquire(this.name, this.owner, this.ttlMs);
      } catch (error) {
        // Unknown: keep the deadline we had; it runs out by itself if the store stays away.
        this.log(`Lease ${this.name}: the lease store failed: ${String(error)}`);
      }
      if (held === true) this.validUntil = sentAt + this.ttlMs;
      if (!this.leading && held === true && !this.stopped) {
        this.leading = true;
        this.tripped = false;
        this.log(`Lease ${this.name}: ${this.owner} leads`);
        await this.task.start();
      } else if (this.leading && (held === false || this.tripped || this.validUntil - this.now() <= this.marginMs)) {
        this.log(`Lease ${this.name}: ${this.owner} ${held === false ? 'lost the lease' : 'could not renew the lease in time'}; stopping to stand by`);
        this.leading = false;
        this.tripped = false;
        this.validUntil = -Infinity;
        // Its last commits are refused by the fence; what it did not commit, the next leader does.
        await this.task.stop().catch((error: unknown) => this.log(`Lease ${this.name}: stopping the task failed: ${String(error)}`));
      }
    });
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.queue.then(step);
    this.queue = next.catch((error: unknown) => this.log(`Lease ${this.name}: ${String(error)}`));
    return next;
  }
}
