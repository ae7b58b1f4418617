import { spawn } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DealEventReader, type StoredDealEvent } from '@deals/deal-streams';
import { EmbeddedEventStore, type EventStore, formatPosition, type Position, type RecordedEvent } from '@deals/event-store';
import { eventually } from '@deals/platform/testing';
import { type Checkpoint, type CommitOptions, EmbeddedReadModelStore, type JsonObject, type ReadModelChange, type ReadModelStore, RedisReadModelStore } from '@deals/read-models';
import {
  describeForStore,
  itForStore,
  type ReadModelStoreKind,
  readModelStoreKinds,
  testRedisUrl as redisUrl,
  unlinkPrefix,
} from '@deals/read-models/testing';
import { InMemoryReadModelStore } from '../pipeline/testing/in-memory-read-model';
import type { Projection } from '../projection';
import { type CatchUpProgress, ProjectionRunner, type RunnerOptions } from './projection-runner';
import { appendEvents, countingNames, countingProjection, dealEvents, writeHistory } from './testing/counting-projection';


type StoreKind = ReadModelStoreKind;

interface OpenedStore {
  readonly store: ReadModelStore;
  /** How the crash test's child finds the same store. */
  readonly spec: string;
}

let dir: string;
/** Undone in reverse order after each test: runners stop before the stores they use close. */
let cleanups: Array<() => Promise<void>>;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'projection-runner-'));
  cleanups = [];
});

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

function openEvents(file = path.join(dir, 'events.sqlite')): EmbeddedEventStore {
  const store = EmbeddedEventStore.open({ path: file, pollIntervalMs: 20 });
  cleanups.push(() => store.close());
  return store;
}

/** A fresh read model: its own file, or its own key prefix in the shared Redis. */
async function openStore(kind: StoreKind, reuse?: string): Promise<OpenedStore> {
  if (kind === 'embedded') {
    const file = reuse ?? path.join(dir, `read-models-${randomUUID()}.sqlite`);
    const store = EmbeddedReadModelStore.open(file);
    cleanups.push(() => store.close());
    return { store, spec: `embedded:${file}` };
  }
  const keyPrefix = reuse ?? `test:${randomUUID()}:`;
  const store = await RedisReadModelStore.connect(redisUrl, { keyPrefix });
  cleanups.push(async () => {
    await store.close();
    await unlinkPrefix(keyPrefix);
  });
  return { store, spec: `redis:${keyPrefix}` };
}

function runner(events: EventStore, store: ReadModelStore, projection: Projection, options: RunnerOptions = {}): ProjectionRunner {
  const created = new ProjectionRunner(events, store, projection, options);
  cleanups.push(() => created.stop());
  return created;
}

function projectionName(): string {
  return `counting${randomUUID().slice(0, 8)}`;
}

/** Everything the counting projection wrote, read through the port. */
async function snapshot(store: ReadModelStore, projection: string) {
  const names = countingNames(projection);
  const all = async (collection: string) => {
    const documents: Array<{ id: string; document: unknown }> = [];
    for await (const item of store.scan(collection, { pageSize: 100 })) documents.push(item);
    // A scan's order is the adapter's; the read models compare by id.
    return documents.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  };
  return {
    deals: await all(names.deals),
    open: await all(names.open),
    types: await store.counters(names.types),
    quarters: await store.counters(names.quarters),
    activity: await store.range(names.activity, { limit: 1_000_000 }),
    closed: await store.range(names.closed, { limit: 1_000_000 }),
  };
}

async function storedEvents(events: EventStore): Promise<StoredDealEvent[]> {
  const reader = new DealEventReader();
  const all: StoredDealEvent[] = [];
  for await (const recorded of events.readAll()) all.push(reader.read(recorded));
  return all;
}

/** The read model as projecting every event alone, in order, gives it: what batching must not change. */
async function oneByOne(events: EventStore, projection: Projection, filter: (event: StoredDealEvent) => boolean = () => true) {
  const memory = new InMemoryReadModelStore();
  memory.project(projection, (await storedEvents(events)).filter(filter));
  return snapshot(memory, projection.name);
}

async function firstRecorded(events: EventStore, after?: Position): Promise<RecordedEvent> {
  for await (const event of events.readAll(after ? { fromPosition: { commit: after.commit + 1n, prepare: after.prepare + 1n } } : {})) return event;
  throw new Error('No event');
}

/** The event store as the runner sees it, counting the events the runner has pulled from its subscription. */
function countingPulls(events: EventStore): { store: EventStore; pulled: () => number } {
  let pulled = 0;
  const store: EventStore = {
    appendToStream: (...args) => events.appendToStream(...args),
    readStream: (...args) => events.readStream(...args),
    readAll: (...args) => events.readAll(...args),
    close: () => events.close(),
    subscribeToAll(options) {
      const subscription = events.subscribeToAll(options);
      return {
        close: () => subscription.close(),
        async *[Symbol.asyncIterator]() {
          for await (const event of subscription) {
            pulled += 1;
            yield event;
          }
        },
      };
    },
  };
  return { store, pulled: () => pulled };
}

for (const kind of readModelStoreKinds) describeForStore(kind)(`ProjectionRunner with the ${kind} read-model store`, () => {
  it('catches up from nothing to the head, as projecting event by event would', async () => {
    const events = openEvents();
    const history = await writeHistory(events, 40, { perAppend: 3 });
    const { store } = await openStore(kind);
    const projection = countingProjection(projectionName());
    const progress: CatchUpProgress[] = [];

    const status = await runner(events, store, projection, { batchSize: 50 }).catchUp((step) => progress.push(step));

    expect(status).toEqual({
      projection: projection.name,
      position: formatPosition(history.last.position),
      eventsProcessed: history.eventCount,
      lastRecordedAt: expect.any(String),
      lagEvents: 0,
      lagMs: 0,
      caughtUp: true,
    });
    expect(await snapshot(store, projection.name)).toEqual(await oneByOne(events, projection));
    expect(progress.map((step) => step.eventsProcessed)).toEqual(
      Array.from({ length: Math.ceil(history.eventCount / 50) }, (_, i) => Math.min((i + 1) * 50, history.eventCount)),
    );
    expect(progress.at(-1)).toMatchObject({ position: formatPosition(history.last.position), headPosition: formatPosition(history.last.position), etaSeconds: 0 });
  });

  it('lets the rest of the process run between the batches of a catch-up', async () => {
    const events = openEvents();
    await writeHistory(events, 40);
    const { store } = await openStore(kind);
    let timerRan = false;
    const timerRanByCommit: boolean[] = [];
    setTimeout(() => (timerRan = true), 0);

    await runner(events, store, countingProjection(projectionName()), { batchSize: 20 }).catchUp(() => timerRanByCommit.push(timerRan));

    expect(timerRanByCommit.length).toBeGreaterThan(10);
    expect(timerRanByCommit.at(-1)).toBe(true);
  });

  it('follows live appends after catching up', async () => {
    const events = openEvents();
    const first = await writeHistory(events, 10);
    const { store } = await openStore(kind);
    const projection = countingProjection(projectionName());
    const live = runner(events, store, projection, { batchSize: 7 });

    live.start();
    await live.waitFor(first.last.position);
    const second = await writeHistory(events, 10);
    const dealId = randomUUID();
    const [capture] = dealEvents(0, dealId, Date.UTC(2025, 5, 1));
    const last = await appendEvents(events, dealId, capture ? [capture] : [], 0);
    await live.waitFor(last.position);

    expect(await snapshot(store, projection.name)).toEqual(await oneByOne(events, projection));
    expect(await live.status()).toMatchObject({ caughtUp: true, eventsProcessed: first.eventCount + second.eventCount + 1 });
  });

  it('resumes from its checkpoint after a restart, counting nothing twice, and a second run changes nothing', async () => {
    const events = openEvents();
    const first = await writeHistory(events, 20);
    const { store } = await openStore(kind);
    const projection = countingProjection(projectionName());
    await runner(events, store, projection, { batchSize: 30 }).catchUp();
    const second = await writeHistory(events, 20);

    await runner(events, store, projection, { batchSize: 30 }).catchUp();
    const once = await snapshot(store, projection.name);
    expect(once).toEqual(await oneByOne(events, projection));
    expect((await store.checkpoint(projection.name))?.eventsProcessed).toBe(first.eventCount + second.eventCount);

    await runner(events, store, projection).catchUp();
    expect(await snapshot(store, projection.name)).toEqual(once);
    expect((await store.checkpoint(projection.name))?.eventsProcessed).toBe(first.eventCount + second.eventCount);
  });

  it('waitFor resolves once the checkpoint reaches the position, whoever moves it, and times out otherwise', async () => {
    const events = openEvents();
    const history = await writeHistory(events, 5);
    const { store } = await openStore(kind);
    const projection = countingProjection(projectionName());
    const watcher = runner(events, store, projection);

    await expect(watcher.waitFor(history.last.position, 50)).rejects.toThrow(/did not reach/);
    // Another runner stands in for a projector in another process.
    const waiting = watcher.waitFor(history.last.position, 5_000);
    await runner(events, store, projection).catchUp();
    await expect(waiting).resolves.toBeUndefined();
    await expect(watcher.waitFor({ commit: 1n, prepare: 1n }, 0)).resolves.toBeUndefined();
  });

  it('status reports how far behind the projection is, in events and in time', async () => {
    const events = openEvents();
    const first = await writeHistory(events, 5);
    const { store } = await openStore(kind);
    const projection = countingProjection(projectionName());
    const now = Date.now() + 60_000;
    const subject = runner(events, store, projection, { now: () => now });

    const oldest = await firstRecorded(events);
    expect(await subject.status()).toEqual({
      projection: projection.name,
      position: null,
      eventsProcessed: 0,
      lastRecordedAt: null,
      lagEvents: first.eventCount,
      lagMs: now - oldest.created.getTime(),
      caughtUp: false,
    });

    await subject.catchUp();
    const second = await writeHistory(events, 3);
    const oldestPending = await firstRecorded(events, first.last.position);
    expect(await subject.status()).toMatchObject({
      position: formatPosition(first.last.position),
      eventsProcessed: first.eventCount,
      lagEvents: second.eventCount,
      lagMs: now - oldestPending.created.getTime(),
      caughtUp: false,
    });

    await subject.catchUp();
    expect(await subject.status()).toMatchObject({ position: formatPosition(second.last.position), lagEvents: 0, lagMs: 0, caughtUp: true });
  });

  it('replays up to a date with a filter; the events left out still move the checkpoint', async () => {
    const events = openEvents();
    const history = await writeHistory(events, 30);
    const { store } = await openStore(kind);
    const projection = countingProjection(projectionName());
    const until = new Date(Date.UTC(2025, 0, 5)).toISOString();
    const filter = (event: StoredDealEvent) => event.event.occurredAt <= until;

    const status = await runner(events, store, projection, { batchSize: 40, filter }).catchUp();

    expect(status).toMatchObject({ position: formatPosition(history.last.position), eventsProcessed: history.eventCount, caughtUp: true });
    const replayed = await snapshot(store, projection.name);
    expect(replayed).toEqual(await oneByOne(events, projection, filter));
    expect(replayed.types['LeadCaptured']).toBe(30);
    expect(replayed.types['Closed']).toBeUndefined();
  });

  it('rebuilds to the same read model that live, incremental projection built', async () => {
    const events = openEvents();
    const { store } = await openStore(kind);
    const projection = countingProjection(projectionName());
    const live = runner(events, store, projection, { batchSize: 3, maxBatchDelayMs: 1 });
    live.start();
    for (let wave = 0; wave < 3; wave += 1) {
      const history = await writeHistory(events, 8, { perAppend: 1 + wave });
      await live.waitFor(history.last.position);
    }
    await live.stop();
    const incremental = await snapshot(store, projection.name);
    const progress: CatchUpProgress[] = [];

    const status = await runner(events, store, projection).rebuild((step) => progress.push(step));

    expect(await snapshot(store, projection.name)).toEqual(incremental);
    expect(incremental).toEqual(await oneByOne(events, projection));
    expect(status).toMatchObject({ caughtUp: true, eventsProcessed: (await storedEvents(events)).length });
    expect(progress.at(-1)?.eventsProcessed).toBe(status.eventsProcessed);
  });

  it('stops on a projection that throws: the error is surfaced and the checkpoint stays short of the failing event', async () => {
    const events = openEvents();
    const history = await writeHistory(events, 12, { perAppend: 3 });
    const { store } = await openStore(kind);
    const name = projectionName();
    const counting = countingProjection(name);
    const victim = history.dealIds[7] ?? '';
    const throwing: Projection = {
      ...counting,
      project: (event, documents) => {
        if (event.dealId === victim && event.revision === 4n) throw new Error('cannot count this one');
        return counting.project(event, documents);
      },
    };
    const logged: string[] = [];
    const failing = runner(events, store, throwing, { batchSize: 25, log: (message) => logged.push(message) });

    await expect(failing.catchUp()).rejects.toThrow(/^Projection counting\w+ failed on event .* cannot count this one$/);

    const bad = (await storedEvents(events)).find((event) => event.dealId === victim && event.revision === 4n);
    const checkpoint = await store.checkpoint(name);
    expect(checkpoint?.position.commit).toBe((bad?.position.commit ?? 0n) - 1n);
    expect(((await store.get(countingNames(name).deals, victim)) as { types: string[] }).types).toHaveLength(4);
    expect(await failing.status()).toMatchObject({ caughtUp: false, lagEvents: history.eventCount - Number(checkpoint?.position.commit), error: expect.stringMatching(/cannot count this one/) });
    expect(logged).toEqual([expect.stringMatching(/^Projection counting\w+ stopped: Error: Projection counting\w+ failed on event/)]);
    await expect(failing.waitFor(history.last.position)).rejects.toThrow(/cannot count this one/);

    // Fixed, it picks up at the failing event: nothing skipped, nothing counted twice.
    await runner(events, store, counting).catchUp();
    expect(await snapshot(store, name)).toEqual(await oneByOne(events, counting));
  });

  it('stop() commits the batch in hand with its checkpoint', async () => {
    const events = openEvents();
    const observed = countingPulls(events);
    const { store } = await openStore(kind);
    const projection = countingProjection(projectionName());
    // A batch that neither fills nor times out: only stop() can commit it.
    const live = runner(observed.store, store, projection, { batchSize: 10_000, maxBatchDelayMs: 60_000 });
    live.start();
    const history = await writeHistory(events, 6);
    await eventually(() => observed.pulled() === history.eventCount, 'the runner to pull every event', { everyMs: 5 });
    expect(await store.checkpoint(projection.name)).toBeUndefined();

    await live.stop();

    expect(await store.checkpoint(projection.name)).toMatchObject({ position: history.last.position, eventsProcessed: history.eventCount });
    expect(await snapshot(store, projection.name)).toEqual(await oneByOne(events, projection));
  });
});

/** An in-memory store whose commits answer late, as a store across a network does. */
class SlowCommitStore extends InMemoryReadModelStore {
  private committing = 0;
  /** Whether the runner read documents while a commit was under way. */
  readOnDuringCommit = false;
  readonly committed: bigint[] = [];

  override async commit(projection: string, changes: readonly ReadModelChange[], checkpoint: Checkpoint): Promise<void> {
    this.committing += 1;
    try {
      await new Promise((resolve) => setTimeout(resolve, 2));
      await super.commit(projection, changes, checkpoint);
      this.committed.push(checkpoint.position.commit);
    } finally {
      this.committing -= 1;
    }
  }

  override async getMany(collection: string, ids: readonly string[]): Promise<ReadonlyArray<JsonObject | undefined>> {
    if (this.committing > 0) this.readOnDuringCommit = true;
    return super.getMany(collection, ids);
  }
}

/** An in-memory store that notes its calls, and when each commit began (performance.now()). */
class RecordingStore extends InMemoryReadModelStore {
  readonly calls: string[] = [];
  readonly startedAt: number[] = [];

  override async commit(projection: string, changes: readonly ReadModelChange[], checkpoint: Checkpoint, options?: CommitOptions): Promise<void> {
    this.calls.push(options?.catchingUp === true ? 'catch-up commit' : 'commit');
    this.startedAt.push(performance.now());
    await super.commit(projection, changes, checkpoint);
  }

  override async settle(projection: string): Promise<void> {
    this.calls.push('settle');
    await super.settle(projection);
  }
}

describe('ProjectionRunner following a steady stream of appends', () => {
  it('spaces its live commits at least minLiveCommitIntervalMs apart, each carrying the events that came meanwhile', async () => {
    const events = openEvents();
    const store = new RecordingStore();
    const projection = countingProjection(projectionName());
    const live = runner(events, store, projection, { maxBatchDelayMs: 1, minLiveCommitIntervalMs: 150 });
    live.start();

    // One event every few milliseconds for about a second: an unspaced runner commits every event or two.
    let last: RecordedEvent['position'] | undefined;
    for (let deal = 0; deal < 120; deal++) {
      const dealId = randomUUID();
      last = (await appendEvents(events, dealId, dealEvents(deal, dealId, Date.UTC(2025, 0, 1)).slice(0, 1), 0)).position;
      await new Promise((resolve) => setTimeout(resolve, 8));
    }
    await live.waitFor(last!);

    const gaps = store.startedAt.slice(1).map((at, index) => at - store.startedAt[index]!);
    expect(gaps.length).toBeGreaterThan(0);
    // Timers may fire a millisecond early; a gap is never shorter than the interval otherwise.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(148);
    expect(await snapshot(store, projection.name)).toEqual(await oneByOne(events, projection));
  });

  it('commits the first event after a quiet spell without waiting for the interval', async () => {
    const events = openEvents();
    const store = new RecordingStore();
    const projection = countingProjection(projectionName());
    const live = runner(events, store, projection, { maxBatchDelayMs: 1, minLiveCommitIntervalMs: 600_000 });
    live.start();
    const dealId = randomUUID();

    const appended = await appendEvents(events, dealId, dealEvents(0, dealId, Date.UTC(2025, 0, 1)).slice(0, 1), 0);

    await live.waitFor(appended.position, 10_000);
    expect(store.startedAt).toHaveLength(1);
  });
});

describe('ProjectionRunner over a store slow to commit', () => {
  it('projects a batch while the one before commits, reading what that batch wrote, and commits in order', async () => {
    const events = openEvents();
    await writeHistory(events, 12, { perAppend: 1 });
    const store = new SlowCommitStore();
    const projection = countingProjection(projectionName());

    await runner(events, store, projection, { batchSize: 7 }).catchUp();

    expect(store.readOnDuringCommit).toBe(true);
    expect(store.committed).toEqual([...store.committed].sort((a, b) => (a < b ? -1 : 1)));
    expect(await snapshot(store, projection.name)).toEqual(await oneByOne(events, projection));
  });
});

describe('ProjectionRunner crash safety', () => {
  const registerTs = path.resolve(__dirname, '../../../../scripts/register-ts.js');
  const crashProjector = path.join(__dirname, 'testing', 'crash-projector.ts');
  const bootstrap = `require(${JSON.stringify(registerTs)}); require(${JSON.stringify(crashProjector)});`;
  const kills = 10;

  let historyDir: string;
  let eventsFile: string;
  let eventCount: number;

  beforeAll(async () => {
    historyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'projection-crash-'));
    eventsFile = path.join(historyDir, 'events.sqlite');
    const events = EmbeddedEventStore.open({ path: eventsFile });
    eventCount = (await writeHistory(events, 2_400, { perAppend: 5 })).eventCount;
    await events.close();
  }, 30_000);

  afterAll(() => {
    fs.rmSync(historyDir, { recursive: true, force: true });
  });

  /** Runs the child until it is done, or kills it (SIGKILL) a moment after its `killAfter`-th commit. */
  function runChild(env: Record<string, string>, killAfter: number | undefined): Promise<'done' | 'killed'> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', bootstrap], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let commits = 0;
      let done = false;
      let partial = '';
      let stderr = '';
      const watchdog = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (line === 'done') done = true;
          else commits += 1;
          // A random moment later: the kill may land anywhere, also inside a commit.
          if (commits === killAfter) setTimeout(() => child.kill('SIGKILL'), randomInt(0, 10));
        }
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearTimeout(watchdog);
        if (code === 0 && done) resolve('done');
        else if (signal === 'SIGKILL' && killAfter !== undefined && commits >= killAfter) resolve('killed');
        else reject(new Error(`The projector exited with ${signal ?? code} after ${commits} commits: ${stderr}`));
      });
    });
  }

  for (const kind of readModelStoreKinds) itForStore(kind)(
    `killed at random points during a large catch-up (${kind}), it ends exactly where a clean rebuild does`,
    async () => {
      const name = projectionName();
      const projection = countingProjection(name);
      const crashed = await openStore(kind);
      const env = {
        CRASH_EVENTS: eventsFile,
        CRASH_STORE: crashed.spec,
        CRASH_PROJECTION: name,
        CRASH_BATCH: '200',
        REDIS_URL: redisUrl,
      };

      let killed = 0;
      while ((await runChild(env, killed < kills ? randomInt(1, 5) : undefined)) === 'killed') killed += 1;

      expect(killed).toBe(kills);
      expect((await crashed.store.checkpoint(name))?.eventsProcessed).toBe(eventCount);
      const events = openEvents(eventsFile);
      const clean = await openStore(kind);
      await runner(events, clean.store, projection).rebuild();
      const result = await snapshot(crashed.store, name);
      // The sum first: a double count fails here with a short message, before the deep comparison.
      expect(Object.values(result.types).reduce((sum, n) => sum + n, 0)).toBe(eventCount);
      expect(result).toEqual(await snapshot(clean.store, name));
    },
    30_000,
  );
});

/** An in-memory store that records what the runner tells it about catching up. */
describe('ProjectionRunner telling the store it is catching up', () => {
  it('given a history, when catching up, then every commit says so and the store is settled once at the end', async () => {
    const events = openEvents();
    await writeHistory(events, 12, { perAppend: 1 });
    const store = new RecordingStore();
    const projection = countingProjection(projectionName());

    await runner(events, store, projection, { batchSize: 5 }).catchUp();

    expect(store.calls.length).toBeGreaterThan(2);
    expect(store.calls.slice(0, -1).every((call) => call === 'catch-up commit')).toBe(true);
    expect(store.calls.at(-1)).toBe('settle');
    expect(await snapshot(store, projection.name)).toEqual(await oneByOne(events, projection));
  });

  it('given a live runner, when events are appended, then its commits are plain and nothing is settled', async () => {
    const events = openEvents();
    const history = await writeHistory(events, 6, { perAppend: 1 });
    const store = new RecordingStore();
    const projection = countingProjection(projectionName());
    const live = runner(events, store, projection, { batchSize: 5, maxBatchDelayMs: 1 });

    live.start();
    await live.waitFor(history.last.position);
    await live.stop();

    expect(store.calls.length).toBeGreaterThan(0);
    expect(store.calls.every((call) => call === 'commit')).toBe(true);
  });
});
