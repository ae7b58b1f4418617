import { DealEventReader, dealStreamLag, dealStreamPrefix, lastDealEvent, type StoredDealEvent } from '@deals/deal-streams';
import {
  batches,
  comparePositions,
  type EventStore,
  formatPosition,
  type Position,
  type RecordedEvent,
  type Subscription,
} from '@deals/event-store';
import { ChangeSet, type Checkpoint, type JsonObject, type ReadModelChange, type ReadModelStore } from '@deals/read-models';
import type { DocumentReader, DocumentRef, Projection } from '../projection';

export interface ProjectionStatus {
  readonly projection: string;
  /** The checkpoint (formatPosition), or null before the first commit. */
  readonly position: string | null;
  readonly eventsProcessed: number;
  readonly lastRecordedAt: string | null;
  /**
   * Events in the store after the checkpoint: the difference of commit positions. Exact for the
   * embedded store, whose positions number its events; approximate for EventStoreDB, whose positions
   * are offsets in its log.
   */
  readonly lagEvents: number;
  /** How long the oldest event not yet projected has been in the store; 0 when caught up. */
  readonly lagMs: number;
  readonly caughtUp: boolean;
  /** Why the runner stopped, when a projection or a store failed. */
  readonly error?: string;
}

export interface CatchUpProgress {
  /** Events in the checkpoint: since the projection was last reset. */
  readonly eventsProcessed: number;
  readonly position: string;
  /** The store's head when catchUp was called: where it will stop. */
  readonly headPosition: string | null;
  /** Since catchUp was called. */
  readonly eventsPerSecond: number;
  readonly etaSeconds: number | null;
}

export interface RunnerOptions {
  /** Events per commit while following live appends. Default 2,000. */
  readonly batchSize?: number;
  /**
   * Events per commit while catching up (catchUp, rebuild). Default batchSize when that is given, else
   * 4,000: a larger commit writes each page it touches (a deal's index entries, a chain head) once for
   * more events; beyond that, memory grows (two batches are in hand at once) for no measured gain.
   */
  readonly catchUpBatchSize?: number;
  /** Live mode: commit a partial batch once its first event has waited this long. Default 20. */
  readonly maxBatchDelayMs?: number;
  /**
   * Live mode: a batch commits no sooner than this after the previous commit ended. After a quiet
   * spell a lone event still commits after maxBatchDelayMs; under a steady stream of commands the
   * commits are spaced out, so a deal's successive events fold into one change (a document written
   * once, an index entry moved once) as they do in a rebuild. Default 0.
   */
  readonly minLiveCommitIntervalMs?: number;
  /** The clock for lag; epoch milliseconds. */
  readonly now?: () => number;
  /**
   * Events to project (e.g. a replay up to a date: occurredAt <= date). Those left out still move the
   * checkpoint, so the replay ends at the store's head like any catch-up.
   */
  readonly filter?: (event: StoredDealEvent) => boolean;
  readonly reader?: DealEventReader;
  /** Where a failure is reported. Default console.error. */
  readonly log?: (message: string) => void;
}

const defaultBatchSize = 2_000;
const defaultCatchUpBatchSize = 4_000;
const defaultMaxBatchDelayMs = 20;
const defaultWaitForMs = 10_000;
/** How often waitFor looks at a checkpoint that another process may be moving. */
const waitForPollMs = 25;

/** A promise with its resolver, to wake whoever waits on the runner's commits. */
interface Signal {
  readonly promise: Promise<void>;
  readonly fire: () => void;
}

/** What one event of a batch asks of the projection; undefined when the filter leaves it out. */
type Plan = { readonly event: StoredDealEvent; readonly reads: readonly DocumentRef[] } | undefined;

/** collection → id → the document as the batch knows it; undefined when absent. */
type Documents = Map<string, Map<string, JsonObject | undefined>>;

/** A projected batch, ready to commit. */
interface Prepared {
  /** Undefined when not one event of the batch went through. */
  readonly changes: ChangeSet | undefined;
  readonly checkpoint: Checkpoint | undefined;
  /** Every document the batch read or wrote, as it left them. */
  readonly documents: Documents;
  /** Why the batch stops short of its end: thrown once the events before it are committed. */
  readonly error: Error | undefined;
}

/**
 * Runs one projection: subscribes to the deal streams from the projection's checkpoint and commits
 * each batch's changes together with the checkpoint of its last event, so that a crash or a restart
 * at any point neither skips nor double-counts an event.
 *
 * A batch loads every document its events name in `reads`: those the batch before read or wrote, as
 * it left them, and the rest with one getMany per collection. It then projects the events in order;
 * each event sees the documents as the earlier events of the batch left them. The batch's changes are
 * folded into their net effect as they come (the last put of a document, one sum per counter field),
 * which is where rebuild speed comes from. A batch is projected while the one before commits, so a
 * store across the network works while the runner does; commits still go one at a time, in order.
 *
 * At most one loop consumes events per runner. Two runners of one projection on one store, in one
 * process or two, would commit the same events twice: run each projection in one place.
 */
export class ProjectionRunner {
  private readonly batchSize: number;
  private readonly catchUpBatchSize: number;
  private readonly maxBatchDelayMs: number;
  private readonly minLiveCommitIntervalMs: number;
  private readonly now: () => number;
  private readonly filter: ((event: StoredDealEvent) => boolean) | undefined;
  private readonly reader: DealEventReader;
  private readonly log: (message: string) => void;

  private consuming: Promise<void> | undefined;
  private subscription: Subscription | undefined;
  /** Set by start(): consume forever. Otherwise the loop ends once it has committed `target`. */
  private live = false;
  private target: Position | undefined;
  private stopRequested = false;
  /** Set by a catch-up commit of the running loop: the loop settles the store when it ends. */
  private deferred = false;
  private committed: Checkpoint | undefined;
  /** performance.now() when the last commit ended. */
  private committedAt = -Infinity;
  private failure: Error | undefined;
  /** Fired at each commit, at a failure and when the loop ends. */
  private changed = signal();
  private readonly progressListeners = new Set<(checkpoint: Checkpoint) => void>();

  constructor(
    private readonly eventStore: EventStore,
    private readonly store: ReadModelStore,
    private readonly projection: Projection,
    options: RunnerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? defaultBatchSize;
    if (!Number.isSafeInteger(this.batchSize) || this.batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${this.batchSize}`);
    this.catchUpBatchSize = options.catchUpBatchSize ?? options.batchSize ?? defaultCatchUpBatchSize;
    if (!Number.isSafeInteger(this.catchUpBatchSize) || this.catchUpBatchSize < 1) {
      throw new RangeError(`catchUpBatchSize must be a positive integer, got ${this.catchUpBatchSize}`);
    }
    this.maxBatchDelayMs = options.maxBatchDelayMs ?? defaultMaxBatchDelayMs;
    if (!(this.maxBatchDelayMs >= 0)) throw new RangeError(`maxBatchDelayMs must not be negative, got ${this.maxBatchDelayMs}`);
    this.minLiveCommitIntervalMs = options.minLiveCommitIntervalMs ?? 0;
    if (!(this.minLiveCommitIntervalMs >= 0)) throw new RangeError(`minLiveCommitIntervalMs must not be negative, got ${this.minLiveCommitIntervalMs}`);
    this.now = options.now ?? Date.now;
    this.filter = options.filter;
    this.reader = options.reader ?? new DealEventReader();
    this.log = options.log ?? ((message) => console.error(message));
  }

  /** Projects from the stored checkpoint on, catching up and then following live appends, until stop(). */
  start(): void {
    this.live = true;
    // run() records a failure in status() instead of rejecting.
    void this.consume();
  }

  /** Graceful: commits the batch in hand with its checkpoint, then closes the subscription. */
  async stop(): Promise<void> {
    this.live = false;
    this.stopRequested = true;
    // Ends the iteration: a loop waiting for events wakes, commits what it holds and returns.
    await this.subscription?.close();
    await this.consuming;
  }

  /** Projects up to the store's head as it is now, then resolves (or rejects with why it stopped). */
  async catchUp(onProgress?: (progress: CatchUpProgress) => void): Promise<ProjectionStatus> {
    const head = await this.head();
    if (head === undefined) return this.status();
    const target = head.position;
    const initial = await this.store.checkpoint(this.projection.name);
    if (reached(initial, target)) return this.status();

    if (this.target === undefined || comparePositions(this.target, target) < 0) this.target = target;
    const startedAt = performance.now();
    const startedWith = initial?.eventsProcessed ?? 0;
    const report = (checkpoint: Checkpoint) => {
      const seconds = (performance.now() - startedAt) / 1000;
      const eventsPerSecond = seconds > 0 ? (checkpoint.eventsProcessed - startedWith) / seconds : 0;
      const remaining = Number(target.commit - checkpoint.position.commit);
      onProgress?.({
        eventsProcessed: checkpoint.eventsProcessed,
        position: formatPosition(checkpoint.position),
        headPosition: formatPosition(target),
        eventsPerSecond,
        etaSeconds: eventsPerSecond > 0 ? Math.max(0, remaining) / eventsPerSecond : null,
      });
    };
    this.progressListeners.add(report);
    try {
      const loop = this.consume();
      for (;;) {
        const changed = this.changed.promise;
        if (reached(this.committed, target)) break;
        if (this.failure) throw this.failure;
        if (this.consuming === undefined) throw new Error(`${this.projection.name} stopped before catching up to ${formatPosition(target)}`);
        await changed;
      }
      // A catch-up loop ends by itself at its target; wait for it to close its subscription.
      if (!this.live) await loop;
    } finally {
      this.progressListeners.delete(report);
    }
    return this.status();
  }

  /**
   * Resolves once the checkpoint reaches the position, whoever moves it: this runner, or a projector
   * in another process (then seen by polling).
   */
  async waitFor(position: Position, timeoutMs = defaultWaitForMs): Promise<void> {
    const timeout = delay(timeoutMs);
    try {
      for (;;) {
        const changed = this.changed.promise;
        if (reached(await this.store.checkpoint(this.projection.name), position)) return;
        if (this.failure) throw this.failure;
        const poll = delay(waitForPollMs);
        const woken = await Promise.race([changed, poll.promise, timeout.promise]);
        poll.cancel();
        if (woken === 'elapsed' && timeout.elapsed()) {
          throw new Error(`${this.projection.name} did not reach ${formatPosition(position)} within ${timeoutMs} ms`);
        }
      }
    } finally {
      timeout.cancel();
    }
  }

  async status(): Promise<ProjectionStatus> {
    const checkpoint = await this.store.checkpoint(this.projection.name);
    const { lagEvents, lagMs, caughtUp } = await dealStreamLag(this.eventStore, checkpoint?.position, this.now());
    return {
      projection: this.projection.name,
      position: checkpoint ? formatPosition(checkpoint.position) : null,
      eventsProcessed: checkpoint?.eventsProcessed ?? 0,
      lastRecordedAt: checkpoint?.lastRecordedAt ?? null,
      lagEvents,
      lagMs,
      caughtUp,
      ...(this.failure ? { error: this.failure.message } : {}),
    };
  }

  /** Removes the projection's read model and checkpoint, then catches up from the first event. */
  async rebuild(onProgress?: (progress: CatchUpProgress) => void): Promise<ProjectionStatus> {
    if (this.consuming) throw new Error(`Stop ${this.projection.name} before rebuilding it`);
    await this.store.reset(this.projection.name);
    return this.catchUp(onProgress);
  }

  /** The one consuming loop: joins the running one, or starts it afresh (clearing an earlier failure). */
  private consume(): Promise<void> {
    if (this.consuming === undefined) {
      this.failure = undefined;
      this.stopRequested = false;
      this.deferred = false;
      const loop = this.run().finally(() => {
        this.consuming = undefined;
        this.target = undefined;
        this.notify();
      });
      this.consuming = loop;
    }
    return this.consuming;
  }

  /** Never rejects: a failure is kept for status(), catchUp() and waitFor() to report. */
  private async run(): Promise<void> {
    let subscription: Subscription | undefined;
    let committing: Promise<void> | undefined;
    try {
      let checkpoint = await this.store.checkpoint(this.projection.name);
      this.committed = checkpoint;
      if (this.stopRequested || this.finished(checkpoint)) return;
      subscription = this.eventStore.subscribeToAll({
        fromPosition: checkpoint?.position ?? 'start',
        streamPrefixes: [dealStreamPrefix],
      });
      this.subscription = subscription;
      const stream = batches(subscription, {
        size: this.live ? this.batchSize : this.catchUpBatchSize,
        // Live, a partial batch commits soon, yet not sooner than the interval after the last commit; catching up, batches fill.
        maxDelayMs: () => (this.live ? Math.max(this.maxBatchDelayMs, this.committedAt + this.minLiveCommitIntervalMs - performance.now()) : undefined),
        closeAfter: (event) => !this.live && this.target !== undefined && comparePositions(event.position, this.target) >= 0,
      });
      let carried: Documents = new Map();
      for await (const batch of stream) {
        // Projected while the batch before commits: a store that answers over the network (Redis)
        // works on one batch while the runner works on the next.
        const prepared = await this.prepare(batch, checkpoint, carried);
        // In order: a batch commits only once the one before has, and never after one that failed.
        await committing;
        committing = this.commit(prepared);
        // Awaited before the next commit or at the end; this keeps its failure from counting as unhandled meanwhile.
        committing.catch(() => {});
        if (prepared.error) {
          await committing;
          throw prepared.error;
        }
        checkpoint = prepared.checkpoint;
        carried = prepared.documents;
        if (this.finished(checkpoint)) break;
        // An embedded catch-up never waits on I/O: without this, a rebuild would hold the event
        // loop (HTTP requests, timers, other runners) until its very end.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await committing;
      // What the catch-up's commits deferred (CommitOptions.catchingUp) is done now, not by the first reader.
      if (this.deferred) await this.store.settle(this.projection.name);
    } catch (error) {
      // A commit still under way ends before the loop does, so that a restart reads where it got to.
      await committing?.catch(() => {});
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.live = false;
      this.log(`Projection ${this.projection.name} stopped: ${this.failure.stack ?? this.failure.message}`);
    } finally {
      this.subscription = undefined;
      await subscription?.close().catch((error: unknown) => this.log(`Closing the subscription of ${this.projection.name} failed: ${String(error)}`));
    }
  }

  private notify(): void {
    this.changed.fire();
    this.changed = signal();
  }

  /** A catch-up loop is done once it has committed its target; a live one never is. */
  private finished(checkpoint: Checkpoint | undefined): boolean {
    return !this.live && this.target !== undefined && reached(checkpoint, this.target);
  }

  /**
   * Projects one batch: loads what its events read (from the batch before when that touched it, else
   * from the store), then folds their changes. When an event fails, the batch stops just short of it:
   * the events before it are to be committed and the error thrown, so the failing event is never skipped.
   */
  private async prepare(batch: readonly RecordedEvent[], previous: Checkpoint | undefined, carried: Documents): Promise<Prepared> {
    const { name } = this.projection;
    const plans: Plan[] = [];
    let failure: { readonly error: unknown } | undefined;
    for (const recorded of batch) {
      try {
        const event = this.reader.read(recorded);
        plans.push(this.filter === undefined || this.filter(event) ? { event, reads: this.projection.reads(event) } : undefined);
      } catch (error) {
        failure = { error };
        break;
      }
    }

    const documents = await this.load(plans, carried);
    let declared: readonly DocumentRef[] = [];
    const reader: DocumentReader = {
      get: (collection, id) => {
        // Reading a document not named in reads() would work or not depending on where batches split.
        if (!declared.some((ref) => ref.collection === collection && ref.id === id)) {
          throw new Error(`${name} read ${collection}/${id} without naming it in reads()`);
        }
        return documents.get(collection)?.get(id);
      },
    };
    const changes = new ChangeSet(name);
    let done = 0;
    for (const plan of plans) {
      if (plan !== undefined) {
        declared = plan.reads;
        let own: ReadModelChange[];
        try {
          own = this.projection.project(plan.event, reader);
          // Refuses a malformed change here, so that it is this event that fails.
          changes.add(own);
        } catch (error) {
          failure = { error };
          break;
        }
        for (const change of own) {
          // Later events of the batch read what this one wrote; only documents some event reads are kept.
          if (change.kind === 'put' || change.kind === 'delete') {
            const loaded = documents.get(change.collection);
            if (loaded?.has(change.id)) loaded.set(change.id, change.kind === 'put' ? change.document : undefined);
          }
        }
      }
      done += 1;
    }

    // What the next batch may take from this one rather than from the store: every document it read or wrote.
    for (const [collection, written] of changes.documents) {
      let known = documents.get(collection);
      if (known === undefined) documents.set(collection, (known = new Map()));
      for (const [id, document] of written) known.set(id, document ?? undefined);
    }
    const last = batch[done - 1];
    const checkpoint =
      last === undefined
        ? previous
        : { position: last.position, eventsProcessed: (previous?.eventsProcessed ?? 0) + done, lastRecordedAt: last.created.toISOString() };
    let error: Error | undefined;
    if (failure) {
      const event = batch[done];
      const where = event ? ` on event ${event.id} (${event.type} in ${event.streamId} at ${formatPosition(event.position)})` : '';
      const cause = failure.error;
      error = new Error(`Projection ${name} failed${where}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    return { changes: last === undefined ? undefined : changes, checkpoint, documents, error };
  }

  /** Commits a prepared batch with its checkpoint, then tells whoever waits. */
  private async commit(prepared: Prepared): Promise<void> {
    const { changes, checkpoint } = prepared;
    if (changes === undefined || checkpoint === undefined) return;
    // Catching up, more commits follow: the store may defer index work until settle(). Live, and the
    // batch a stop() commits, go as they always did.
    if (this.live || this.stopRequested) {
      await this.store.commit(this.projection.name, changes, checkpoint);
    } else {
      this.deferred = true;
      await this.store.commit(this.projection.name, changes, checkpoint, { catchingUp: true });
    }
    this.committed = checkpoint;
    this.committedAt = performance.now();
    for (const listener of this.progressListeners) listener(checkpoint);
    this.notify();
  }

  /** Every document the batch reads: those the batch before touched as it left them, the rest with one getMany per collection. */
  private async load(plans: readonly Plan[], carried: Documents): Promise<Documents> {
    const documents: Documents = new Map();
    const wanted = new Map<string, Set<string>>();
    for (const plan of plans) {
      for (const { collection, id } of plan?.reads ?? []) {
        let known = documents.get(collection);
        if (known === undefined) documents.set(collection, (known = new Map()));
        if (known.has(id)) continue;
        const before = carried.get(collection);
        if (before?.has(id)) {
          known.set(id, before.get(id));
          continue;
        }
        let ids = wanted.get(collection);
        if (ids === undefined) wanted.set(collection, (ids = new Set()));
        ids.add(id);
      }
    }
    await Promise.all(
      [...wanted].map(async ([collection, idSet]) => {
        const ids = [...idSet];
        const found = await this.store.getMany(collection, ids);
        const known = documents.get(collection);
        ids.forEach((id, i) => known?.set(id, found[i]));
      }),
    );
    return documents;
  }

  /** The last deal event in the store. */
  private head(): Promise<RecordedEvent | undefined> {
    return lastDealEvent(this.eventStore);
  }
}

function reached(checkpoint: Checkpoint | undefined, position: Position): boolean {
  return checkpoint !== undefined && comparePositions(checkpoint.position, position) >= 0;
}

function signal(): Signal {
  let fire = () => {};
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

interface Delay {
  readonly promise: Promise<'elapsed'>;
  readonly cancel: () => void;
  readonly elapsed: () => boolean;
}

/** A timer as a promise; an infinite delay never elapses. */
function delay(ms: number): Delay {
  let timer: NodeJS.Timeout | undefined;
  let elapsed = false;
  const promise = new Promise<'elapsed'>((resolve) => {
    if (ms === Infinity) return;
    timer = setTimeout(() => {
      elapsed = true;
      resolve('elapsed');
    }, ms);
  });
  return { promise, cancel: () => clearTimeout(timer), elapsed: () => elapsed };
}
