import { randomUUID } from 'node:crypto';
import {
  ANY,
  BACKWARDS,
  END,
  FORWARDS,
  MaxAppendSizeExceededError,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import type {
  AllStreamRecordedEvent,
  AllStreamResolvedEvent,
  AppendToStreamOptions,
  AppendResult as ClientAppendResult,
  EventData,
  Filter,
  ReadAllOptions as ClientReadAllOptions,
  ReadStreamOptions as ClientReadStreamOptions,
  ResolvedEvent,
  SubscribeToAllOptions as ClientSubscribeToAllOptions,
} from '@eventstore/db-client';
import {
  AppendTooLargeError,
  EventToAppend,
  IdempotencyViolationError,
  Position,
  RecordedEvent,
  Subscription,
  WrongExpectedRevisionError,
  comparePositions,
  formatPosition,
  maxAppendBytes,
  parsePosition,
} from '../event-store.port';
import { EsdbClientSurface, EsdbEventStore, EsdbReconnectInfo, EsdbSubscriptionSurface } from './esdb-event-store';
import { collect, ids, refusal } from '../testing/event-store-conformance';

/** Far beyond Number.MAX_SAFE_INTEGER (2^53 - 1), so any trip through Number would show. */
const firstCommit = 2n ** 60n + 1n;

interface SubscriptionScript {
  /** Fail (throw `error`) once this many events were delivered, before the next one or when idle. */
  readonly failAfter?: number;
  readonly error?: unknown;
  /** Start again at the starting position itself, as a server counting it inclusively would. */
  readonly replayStart?: boolean;
}

/**
 * An in-memory stand-in for EventStoreDB behind the client's surface, for the parts the adapter uses:
 * expected-version checks with the client's own WrongExpectedVersionError, id deduplication, missing
 * streams thrown while iterating, $all reads (backwards exclusive of the start position), filtered
 * catch-up-then-live subscriptions with exclusive positions, and scripted failures.
 */
class FakeEsdbClient implements EsdbClientSurface {
  readonly all: AllStreamRecordedEvent[] = [];
  readonly streams = new Map<string, AllStreamRecordedEvent[]>();
  readonly appendCalls: { stream: string; events: EventData[]; options: AppendToStreamOptions | undefined }[] = [];
  readonly readStreamCalls: ClientReadStreamOptions[] = [];
  readonly readAllCalls: ClientReadAllOptions[] = [];
  readonly subscribeCalls: ClientSubscribeToAllOptions[] = [];
  readonly appendFailures: unknown[] = [];
  readonly subscriptionScripts: SubscriptionScript[] = [];
  readonly activeSubscriptions = new Set<EsdbSubscriptionSurface>();
  disposed = 0;
  private nextCommit = firstCommit;
  private readonly waiting = new Set<() => void>();

  /** Writes directly, as another client (or the server itself, for `$` streams) would. */
  seed(stream: string, type = 'Seeded', data: Record<string, unknown> = {}): AllStreamRecordedEvent {
    const list = this.streams.get(stream) ?? [];
    const commit = this.nextCommit;
    this.nextCommit += 1_000n;
    const recorded = {
      streamId: stream,
      id: randomUUID(),
      isJson: true as const,
      revision: BigInt(list.length),
      type,
      created: new Date(),
      data,
      metadata: { seeded: true },
      // prepare differs from commit, so that a mix-up of the two shows.
      position: { commit, prepare: commit - 7n },
    };
    list.push(recorded);
    this.streams.set(stream, list);
    this.all.push(recorded);
    for (const wake of [...this.waiting]) wake();
    return recorded;
  }

  async appendToStream(
    stream: string,
    events: EventData[],
    options?: AppendToStreamOptions,
  ): Promise<ClientAppendResult> {
    this.appendCalls.push({ stream, events, options });
    if (this.appendFailures.length > 0) throw this.appendFailures.shift();
    const expected = options?.expectedRevision ?? ANY;
    const list = this.streams.get(stream) ?? [];
    const current = list.length === 0 ? 'no_stream' : BigInt(list.length - 1);
    const conflict = () => new WrongExpectedVersionError(undefined, { streamName: stream, expected, current });

    const at = list.findIndex((recorded) => recorded.id === events[0]?.id);
    if (at >= 0) {
      const all = events.every((event, index) => list[at + index]?.id === event.id);
      const place = expected === NO_STREAM ? 0 : typeof expected === 'bigint' ? Number(expected) + 1 : at;
      if (all && (expected === ANY || place === at)) {
        // Deduplicated: the server answers with the revision of the original, and no position.
        return { success: true, nextExpectedRevision: BigInt(at + events.length - 1), position: undefined };
      }
      if (expected === ANY || place === at) throw conflict();
    }
    if (expected === NO_STREAM && current !== 'no_stream') throw conflict();
    if (expected === STREAM_EXISTS && current === 'no_stream') throw conflict();
    if (typeof expected === 'bigint' && expected !== current) throw conflict();

    let last: AllStreamRecordedEvent | undefined;
    for (const event of events) {
      last = this.seed(stream, event.type, event.data as Record<string, unknown>);
      Object.assign(last, { id: event.id, metadata: event.metadata });
    }
    return { success: true, nextExpectedRevision: last!.revision, position: { ...last!.position } };
  }

  readStream(stream: string, options: ClientReadStreamOptions = {}): AsyncIterable<ResolvedEvent> {
    this.readStreamCalls.push(options);
    const streams = this.streams;
    return (async function* () {
      const list = streams.get(stream);
      if (list === undefined) throw new StreamNotFoundError(undefined, stream);
      const forwards = (options.direction ?? FORWARDS) === FORWARDS;
      const from = options.fromRevision ?? START;
      let count = BigInt(options.maxCount ?? Number.MAX_SAFE_INTEGER);
      const ordered = forwards ? list : [...list].reverse();
      for (const recorded of ordered) {
        if (count <= 0n) return;
        if (typeof from === 'bigint' && (forwards ? recorded.revision < from : recorded.revision > from)) continue;
        count -= 1n;
        yield { event: recorded };
      }
    })();
  }

  readAll(options: ClientReadAllOptions = {}): AsyncIterable<AllStreamResolvedEvent> {
    this.readAllCalls.push(options);
    const all = this.all;
    return (async function* () {
      const forwards = (options.direction ?? FORWARDS) === FORWARDS;
      const from = options.fromPosition ?? START;
      let count = BigInt(options.maxCount ?? Number.MAX_SAFE_INTEGER);
      for (const recorded of forwards ? all : [...all].reverse()) {
        if (count <= 0n) return;
        if (typeof from === 'object') {
          const order = comparePositions(recorded.position, from);
          // Forwards from a position includes it; backwards starts before it.
          if (forwards ? order < 0 : order >= 0) continue;
        }
        count -= 1n;
        yield { event: recorded, commitPosition: recorded.position.commit };
      }
    })();
  }

  subscribeToAll(options: ClientSubscribeToAllOptions = {}): EsdbSubscriptionSurface {
    this.subscribeCalls.push(options);
    const script = this.subscriptionScripts.shift() ?? {};
    const fake = this;
    let stopped = false;
    let wake: (() => void) | undefined;
    async function* iterate(): AsyncGenerator<AllStreamResolvedEvent> {
      const from = options.fromPosition ?? START;
      let cursor = 0;
      let delivered = 0;
      const fail = () => script.failAfter !== undefined && delivered >= script.failAfter;
      while (!stopped) {
        while (cursor < fake.all.length && !stopped) {
          const recorded = fake.all[cursor]!;
          cursor += 1;
          if (typeof from === 'object') {
            const order = comparePositions(recorded.position, from);
            if (order < 0 || (order === 0 && !script.replayStart)) continue;
          }
          if (!passes(options.filter, recorded)) continue;
          if (fail()) throw script.error ?? new UnavailableError();
          delivered += 1;
          yield { event: recorded, commitPosition: recorded.position.commit };
        }
        if (fail()) throw script.error ?? new UnavailableError();
        await new Promise<void>((resolve) => {
          wake = () => {
            fake.waiting.delete(wake!);
            resolve();
          };
          fake.waiting.add(wake);
        });
      }
    }
    const iterator = iterate();
    const subscription: EsdbSubscriptionSurface = {
      [Symbol.asyncIterator]: () => iterator,
      unsubscribe: async () => {
        stopped = true;
        fake.activeSubscriptions.delete(subscription);
        wake?.();
      },
    };
    this.activeSubscriptions.add(subscription);
    return subscription;
  }

  async dispose(): Promise<void> {
    this.disposed += 1;
  }
}

function passes(filter: Filter | undefined, recorded: AllStreamRecordedEvent): boolean {
  if (filter === undefined) return true;
  const subject = filter.filterOn === 'streamName' ? recorded.streamId : recorded.type;
  if ('prefixes' in filter) return filter.prefixes.some((prefix) => subject.startsWith(prefix));
  return new RegExp(filter.regex).test(subject);
}

/** A sleep that records each delay and returns at once (or, when `hold`, waits for the abort). */
function fakeSleep(options: { hold?: boolean } = {}) {
  const delays: number[] = [];
  const aborted: boolean[] = [];
  const sleep = (ms: number, signal: AbortSignal) => {
    delays.push(ms);
    if (!options.hold) return Promise.resolve();
    return new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => {
        aborted.push(true);
        resolve();
      });
    });
  };
  return { delays, aborted, sleep };
}

function events(count: number): EventToAppend[] {
  return Array.from({ length: count }, (_, index) => ({
    id: randomUUID(),
    type: 'Tested',
    data: { index },
    metadata: { correlationId: randomUUID() },
  }));
}


async function take(subscription: Subscription, count: number): Promise<RecordedEvent[]> {
  const iterator = subscription[Symbol.asyncIterator]();
  const taken: RecordedEvent[] = [];
  while (taken.length < count) {
    const next = await iterator.next();
    if (next.done) throw new Error(`ended after ${taken.length}`);
    taken.push(next.value);
  }
  return taken;
}

describe('EsdbEventStore (with a fake client)', () => {
  let client: FakeEsdbClient;
  let store: EsdbEventStore;

  beforeEach(() => {
    client = new FakeEsdbClient();
    store = new EsdbEventStore(client, { sleep: fakeSleep().sleep });
  });

  afterEach(async () => {
    await store.close();
  });

  describe('appendToStream', () => {
    it('maps each expected revision to the client constant, and never sends -1', async () => {
      await store.appendToStream('deal-a', events(1));
      await store.appendToStream('deal-b', events(1), { expectedRevision: 'no_stream' });
      await store.appendToStream('deal-b', events(1), { expectedRevision: 'stream_exists' });
      await store.appendToStream('deal-b', events(1), { expectedRevision: 1n });
      await store.appendToStream('deal-b', events(1), { expectedRevision: 'any' });
      expect(client.appendCalls.map((call) => call.options?.expectedRevision)).toEqual([
        ANY,
        NO_STREAM,
        STREAM_EXISTS,
        1n,
        ANY,
      ]);
    });

    it('passes ids, types, data and metadata through unchanged as JSON events', async () => {
      const written = events(2).map((event, index) => (index === 0 ? { ...event, id: event.id.toUpperCase() } : event));
      await store.appendToStream('deal-a', written);
      const sent = client.appendCalls[0]!.events;
      expect(sent.map((event) => event.id)).toEqual(ids(written));
      expect(sent.map((event) => event.contentType)).toEqual(['application/json', 'application/json']);
      expect(sent.map((event) => [event.type, event.data, event.metadata])).toEqual(
        written.map((event) => [event.type, event.data, event.metadata]),
      );
      expect(ids(await collect(store.readStream('deal-a')))).toEqual(ids(written));
    });

    it('answers the revision and the position of the last event, bigints beyond 2^53 intact', async () => {
      await store.appendToStream('deal-x', events(1));
      const result = await store.appendToStream('deal-a', events(3));
      const last = client.streams.get('deal-a')!.at(-1)!;
      expect(result).toEqual({ nextExpectedRevision: 2n, position: last.position });
      expect(result.position.commit).toBe(firstCommit + 3_000n);
      expect(result.position.prepare).toBe(firstCommit + 3_000n - 7n);
      expect(result.position.commit > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
      expect(parsePosition(formatPosition(result.position))).toEqual(result.position);
    });

    it("maps a conflict for each expectation, with the actual revision or 'no_stream'", async () => {
      await store.appendToStream('deal-a', events(3));
      const cases: [string, 'no_stream' | 'stream_exists' | bigint, bigint | 'no_stream'][] = [
        ['deal-a', 'no_stream', 2n],
        ['deal-missing', 'stream_exists', 'no_stream'],
        ['deal-a', 1n, 2n],
        ['deal-a', 7n, 2n],
        ['deal-missing', 0n, 'no_stream'],
      ];
      for (const [stream, expectedRevision, actual] of cases) {
        const error = await refusal(store.appendToStream(stream, events(1), { expectedRevision }));
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toMatchObject({ streamId: stream, expected: expectedRevision, actual });
      }
      expect(client.streams.get('deal-a')).toHaveLength(3);
    });

    it('recognizes the conflict by class even with an empty message (the batch-append path)', async () => {
      const batchError = new WrongExpectedVersionError(undefined, {
        streamName: 'deal-a',
        expected: 4n,
        current: 9n,
      });
      batchError.message = '';
      client.appendFailures.push(batchError);
      const error = await refusal(store.appendToStream('deal-a', events(1), { expectedRevision: 4n }));
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(error).toMatchObject({ expected: 4n, actual: 9n });
    });

    it('maps an unsuccessful result (a client that does not throw on conflicts) to the conflict error', async () => {
      client.appendToStream = async () => ({ success: false, nextExpectedRevision: 5n, position: undefined });
      expect(await refusal(store.appendToStream('deal-a', events(1), { expectedRevision: 2n }))).toMatchObject({
        expected: 2n,
        actual: 5n,
      });
      client.appendToStream = async () => ({ success: false, nextExpectedRevision: -1n, position: undefined });
      const error = await refusal(store.appendToStream('deal-a', events(1), { expectedRevision: 'stream_exists' }));
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(error).toMatchObject({ expected: 'stream_exists', actual: 'no_stream' });
    });

    it('never maps by message text: other errors pass through unchanged', async () => {
      const lookalike = new Error('WrongExpectedVersion: expected 1, actual 2');
      const unavailable = new UnavailableError();
      client.appendFailures.push(lookalike, unavailable);
      expect(await refusal(store.appendToStream('deal-a', events(1)))).toBe(lookalike);
      expect(await refusal(store.appendToStream('deal-a', events(1)))).toBe(unavailable);
    });

    it('a retry with the same ids returns the first result (its position read back) and appends nothing', async () => {
      const written = events(2);
      const first = await store.appendToStream('deal-a', written, { expectedRevision: 'no_stream' });
      await store.appendToStream('deal-b', events(1));
      expect(await store.appendToStream('deal-a', written, { expectedRevision: 'no_stream' })).toEqual(first);
      expect(await store.appendToStream('deal-a', written)).toEqual(first);
      expect(client.streams.get('deal-a')).toHaveLength(2);
      expect(client.appendCalls.at(-1)!.events.map((event) => event.id)).toEqual(ids(written));
    });

    it('a retry of which only a part was appended is an idempotency violation, for any expectation', async () => {
      const written = events(2);
      await store.appendToStream('deal-a', written, { expectedRevision: 'no_stream' });
      const overlapping = [...written, ...events(1)];
      for (const expectedRevision of ['no_stream', 'any'] as const) {
        const error = await refusal(store.appendToStream('deal-a', overlapping, { expectedRevision }));
        expect(error).toBeInstanceOf(IdempotencyViolationError);
        expect(error).toMatchObject({ streamId: 'deal-a' });
      }
      // A real conflict at an exact revision stays a conflict.
      const error = await refusal(store.appendToStream('deal-a', events(1), { expectedRevision: 0n }));
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    });

    it('refuses an append above maxAppendBytes before sending it', async () => {
      const half = 'x'.repeat(Math.ceil(maxAppendBytes / 2));
      const big = events(2).map((event) => ({ ...event, data: { text: half } }));
      const error = await refusal(store.appendToStream('deal-a', big));
      expect(error).toBeInstanceOf(AppendTooLargeError);
      expect(error).toMatchObject({ streamId: 'deal-a' });
      expect(client.appendCalls).toEqual([]);
    });

    it("maps the server's MaxAppendSizeExceeded to AppendTooLargeError", async () => {
      client.appendFailures.push(new MaxAppendSizeExceededError(undefined, 1024));
      expect(await refusal(store.appendToStream('deal-a', events(1)))).toBeInstanceOf(AppendTooLargeError);
    });

    it('refuses ids that are not UUIDs, and the same id twice, before sending', async () => {
      const [one] = events(1);
      await expect(store.appendToStream('deal-a', [{ ...one!, id: 'command-1' }])).rejects.toThrow(/not a UUID/);
      await expect(store.appendToStream('deal-a', [one!, one!])).rejects.toBeInstanceOf(IdempotencyViolationError);
      expect(client.appendCalls).toEqual([]);
    });

    it('an empty append checks the expectation without writing', async () => {
      expect(await store.appendToStream('deal-a', [], { expectedRevision: 'no_stream' })).toEqual({
        nextExpectedRevision: -1n,
        position: { commit: 0n, prepare: 0n },
      });
      const last = await store.appendToStream('deal-a', events(2));
      expect(await store.appendToStream('deal-a', [], { expectedRevision: 1n })).toEqual(last);
      expect(await refusal(store.appendToStream('deal-a', [], { expectedRevision: 0n }))).toMatchObject({
        expected: 0n,
        actual: 1n,
      });
      expect(await refusal(store.appendToStream('deal-b', [], { expectedRevision: 'stream_exists' }))).toMatchObject({
        actual: 'no_stream',
      });
      expect(client.appendCalls).toHaveLength(1);
    });
  });

  describe('readStream', () => {
    it('maps direction, inclusive fromRevision and maxCount to the client', async () => {
      await store.appendToStream('deal-a', events(10));
      const revisions = async (options: Parameters<EsdbEventStore['readStream']>[1]) =>
        (await collect(store.readStream('deal-a', options))).map((event) => event.revision);
      expect(await revisions({ fromRevision: 3n, maxCount: 4 })).toEqual([3n, 4n, 5n, 6n]);
      expect(await revisions({ direction: 'backwards', maxCount: 2 })).toEqual([9n, 8n]);
      expect(await revisions({ direction: 'backwards', fromRevision: 1n })).toEqual([1n, 0n]);
      expect(await revisions({ maxCount: 0 })).toEqual([]);
      expect(client.readStreamCalls).toEqual([
        { direction: FORWARDS, fromRevision: 3n, maxCount: 4n },
        { direction: BACKWARDS, fromRevision: END, maxCount: 2n },
        { direction: BACKWARDS, fromRevision: 1n },
      ]);
    });

    it('reads a missing stream (StreamNotFoundError while iterating) as empty, both ways', async () => {
      expect(await collect(store.readStream('deal-missing'))).toEqual([]);
      expect(await collect(store.readStream('deal-missing', { direction: 'backwards' }))).toEqual([]);
      expect(client.readStreamCalls[0]).toMatchObject({ direction: FORWARDS, fromRevision: START });
    });

    it('hands other read errors on', async () => {
      const failing = new UnavailableError();
      client.readStream = () =>
        (async function* (): AsyncGenerator<ResolvedEvent> {
          yield* [];
          throw failing;
        })();
      await expect(collect(store.readStream('deal-a'))).rejects.toBe(failing);
    });

    it('maps a recorded event whole, bigint revision and position included', async () => {
      const [written] = events(1);
      await store.appendToStream('deal-a', [written!]);
      const [read] = await collect(store.readStream('deal-a'));
      const stored = client.streams.get('deal-a')![0]!;
      expect(read).toEqual({
        id: written!.id,
        type: 'Tested',
        streamId: 'deal-a',
        revision: 0n,
        position: stored.position,
        data: written!.data,
        metadata: written!.metadata,
        created: stored.created,
      });
    });
  });

  describe('readAll', () => {
    let written: RecordedEvent[];

    beforeEach(async () => {
      client.seed('$settings', 'Settings');
      await store.appendToStream('deal-a', events(2));
      client.seed('deal-a-meta', '$metadata');
      await store.appendToStream('other-b', events(1));
      client.seed('$ce-deal', '$>');
      await store.appendToStream('deal-c', events(2));
      written = (await collect(store.readAll())).slice();
    });

    it('skips system events (stream or type starting with $), forwards in position order', () => {
      expect(written.map((event) => event.streamId)).toEqual(['deal-a', 'deal-a', 'other-b', 'deal-c', 'deal-c']);
      for (let i = 1; i < written.length; i += 1) {
        expect(comparePositions(written[i - 1]!.position, written[i]!.position)).toBe(-1);
      }
    });

    it('reads forwards from an inclusive position; maxCount counts only returned events', async () => {
      const read = await collect(store.readAll({ fromPosition: written[1]!.position, maxCount: 2 }));
      expect(ids(read)).toEqual(ids(written.slice(1, 3)));
      expect(client.readAllCalls.at(-1)).toEqual({ direction: FORWARDS, fromPosition: written[1]!.position });
    });

    it('reads backwards from an inclusive position, though the server starts before it', async () => {
      const read = await collect(store.readAll({ direction: 'backwards', fromPosition: written[3]!.position }));
      expect(ids(read)).toEqual(ids(written.slice(0, 4)).reverse());
      const newestFirst = await collect(store.readAll({ direction: 'backwards', maxCount: 3 }));
      expect(ids(newestFirst)).toEqual(ids(written.slice(2)).reverse());
    });

    it('reads backwards without a duplicate when a server counts the start position in', async () => {
      const original = client.readAll.bind(client);
      client.readAll = (options = {}) =>
        options.direction === BACKWARDS && typeof options.fromPosition === 'object'
          ? original({ ...options, fromPosition: written[3]!.position, direction: FORWARDS, maxCount: 1 })
          : original(options);
      const read = await collect(store.readAll({ direction: 'backwards', fromPosition: written[3]!.position }));
      expect(ids(read)).toEqual([written[3]!.id]);
    });

    it('filters to stream prefixes client-side (the 6.x client has no read filter)', async () => {
      const deals = await collect(store.readAll({ streamPrefixes: ['deal-'], maxCount: 3 }));
      expect(deals.map((event) => event.streamId)).toEqual(['deal-a', 'deal-a', 'deal-c']);
    });
  });

  describe('subscribeToAll', () => {
    it('passes a stream-name prefix filter and an exclusive position, and skips system events', async () => {
      const first = await store.appendToStream('deal-a', events(2));
      client.seed('deal-a-sys', '$metadata');
      await store.appendToStream('other-b', events(1));
      const later = await store.appendToStream('deal-c', events(1));

      const subscription = store.subscribeToAll({ fromPosition: first.position, streamPrefixes: ['deal-'] });
      const [next] = await take(subscription, 1);
      await subscription.close();
      expect(next).toMatchObject({ streamId: 'deal-c', position: later.position });
      expect(client.subscribeCalls[0]).toMatchObject({
        fromPosition: first.position,
        filter: { filterOn: 'streamName', prefixes: ['deal-'] },
      });
    });

    it("excludes system events server-side when no prefix is given; 'start' maps to START", async () => {
      client.seed('$stats-1', 'StatsCollected');
      await store.appendToStream('deal-a', events(1));
      const subscription = store.subscribeToAll({ fromPosition: 'start' });
      const [next] = await take(subscription, 1);
      await subscription.close();
      expect(next?.streamId).toBe('deal-a');
      expect(client.subscribeCalls[0]).toMatchObject({
        fromPosition: START,
        filter: { filterOn: 'eventType', regex: '^[^$].*' },
      });
    });

    it('catches up, then delivers live appends', async () => {
      await store.appendToStream('deal-a', events(2));
      const subscription = store.subscribeToAll({ fromPosition: 'start', streamPrefixes: ['deal-'] });
      const caughtUp = await take(subscription, 2);
      const live = events(1);
      const pending = take(subscription, 1);
      await store.appendToStream('deal-b', live);
      expect(ids(await pending)).toEqual(ids(live));
      await subscription.close();
      expect(caughtUp.map((event) => event.revision)).toEqual([0n, 1n]);
    });

    it(
      'after drops mid-stream resubscribes from the last delivered position with growing delays: ' +
        'no duplicate, no gap',
      async () => {
        const sleeping = fakeSleep();
        const reconnects: EsdbReconnectInfo[] = [];
        store = new EsdbEventStore(client, {
          reconnect: { initialDelayMs: 100, maxDelayMs: 10_000 },
          sleep: sleeping.sleep,
          random: () => 0.999,
          onReconnect: (info) => reconnects.push(info),
        });
        const written = events(10);
        await store.appendToStream('deal-a', written.slice(0, 6));
        // Drop after 3 events; then twice at once (no event between: the delay grows); then after 2.
        client.subscriptionScripts.push(
          { failAfter: 3 },
          { failAfter: 0 },
          { failAfter: 0, error: new Error('socket hang up') },
          { failAfter: 2, replayStart: true },
        );
        const subscription = store.subscribeToAll({ fromPosition: 'start', streamPrefixes: ['deal-'] });
        const firstPart = await take(subscription, 6);
        await store.appendToStream('deal-a', written.slice(6));
        const rest = await take(subscription, 4);
        await subscription.close();

        expect(ids([...firstPart, ...rest])).toEqual(ids(written));
        expect([...firstPart, ...rest].map((event) => event.revision)).toEqual(
          Array.from({ length: 10 }, (_, index) => BigInt(index)),
        );
        const delivered = [...firstPart, ...rest];
        expect(client.subscribeCalls.map((call) => call.fromPosition)).toEqual([
          START,
          delivered[2]!.position,
          delivered[2]!.position,
          delivered[2]!.position,
          // The replayed starting event counts among the fake's two, and is not delivered again.
          delivered[3]!.position,
        ]);
        expect(sleeping.delays).toEqual([100, 200, 400, 100]);
        expect(reconnects.map((info) => info.attempt)).toEqual([1, 2, 3, 1]);
        expect(reconnects[2]?.error).toEqual(new Error('socket hang up'));
      },
    );

    it('caps the delay at maxDelayMs, with jitter between half and all of each step', async () => {
      const sleeping = fakeSleep();
      let random = 0;
      store = new EsdbEventStore(client, {
        reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 },
        sleep: sleeping.sleep,
        random: () => [0, 0.5, 0.999][random++ % 3]!,
      });
      for (let i = 0; i < 8; i += 1) client.subscriptionScripts.push({ failAfter: 0 });
      await store.appendToStream('deal-a', events(1));
      const subscription = store.subscribeToAll({ fromPosition: 'start' });
      await take(subscription, 1);
      await subscription.close();
      // Steps 100, 200, 400, 800, 1000, 1000, ...; jitter 0 → half, 0.5 → three quarters, 0.999 → all.
      expect(sleeping.delays).toEqual([50, 150, 400, 400, 750, 1_000, 500, 750]);
      expect(Math.max(...sleeping.delays)).toBeLessThanOrEqual(1_000);
    });

    it('close() during the backoff wait ends a pending next() promptly, and stops resubscribing', async () => {
      const sleeping = fakeSleep({ hold: true });
      store = new EsdbEventStore(client, { sleep: sleeping.sleep });
      client.subscriptionScripts.push({ failAfter: 0 });
      const subscription = store.subscribeToAll({ fromPosition: 'start' });
      const iterator = subscription[Symbol.asyncIterator]();
      const pending = iterator.next();
      while (sleeping.delays.length === 0) await new Promise((resolve) => setImmediate(resolve));
      await subscription.close();
      expect(await pending).toEqual({ done: true, value: undefined });
      expect(await iterator.next()).toEqual({ done: true, value: undefined });
      expect(sleeping.aborted).toEqual([true]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(client.subscribeCalls).toHaveLength(1);
    });

    it('close() ends a live subscription waiting for events, and a for-await loop', async () => {
      await store.appendToStream('deal-a', events(3));
      const subscription = store.subscribeToAll({ fromPosition: 'start' });
      const seen: RecordedEvent[] = [];
      for await (const event of subscription) {
        seen.push(event);
        if (seen.length === 2) await subscription.close();
      }
      expect(seen).toHaveLength(2);
      expect(client.activeSubscriptions.size).toBe(0);

      const idle = store.subscribeToAll({ fromPosition: 'start', streamPrefixes: ['none-'] });
      const pending = idle[Symbol.asyncIterator]().next();
      await idle.close();
      expect(await pending).toEqual({ done: true, value: undefined });
      expect(client.activeSubscriptions.size).toBe(0);
    });
  });

  describe('close', () => {
    it('closes every subscription and disposes of the client once', async () => {
      const subscription = store.subscribeToAll({ fromPosition: 'start' });
      const pending = subscription[Symbol.asyncIterator]().next();
      await store.close();
      await store.close();
      expect(await pending).toEqual({ done: true, value: undefined });
      expect(client.disposed).toBe(1);
      expect(client.activeSubscriptions.size).toBe(0);
      await expect(store.appendToStream('deal-a', events(1))).rejects.toThrow(/closed/);
    });
  });

  it('keeps positions beyond 2^53 exact through reads and subscriptions', async () => {
    const far: Position = { commit: 2n ** 63n - 5n, prepare: 2n ** 63n - 9n };
    client.seed('deal-a', 'Tested');
    Object.assign(client.all[0]!, { position: far });
    const [read] = await collect(store.readAll());
    expect(read?.position).toEqual(far);
    const subscription = store.subscribeToAll({ fromPosition: 'start' });
    const [delivered] = await take(subscription, 1);
    await subscription.close();
    expect(delivered?.position).toEqual(far);
    expect(formatPosition(far)).toBe('9223372036854775803/9223372036854775799');
  });
});

describe('EsdbEventStore.connect (the real client, no server: nothing listens on port 1)', () => {
  it(
    'fails an append, resubscribes a dropped subscription with backoff, and close() lets the process go',
    async () => {
      const reconnects: EsdbReconnectInfo[] = [];
      const store = EsdbEventStore.connect('esdb://127.0.0.1:1?tls=false', {
        reconnect: { initialDelayMs: 10, maxDelayMs: 40 },
        onReconnect: (info) => reconnects.push(info),
      });
      try {
        await expect(store.appendToStream('deal-a', events(1))).rejects.toThrow(/UNAVAILABLE|unavailable/i);
        await expect(collect(store.readStream('deal-a'))).rejects.toThrow();
        const subscription = store.subscribeToAll({ fromPosition: 'start', streamPrefixes: ['deal-'] });
        const pending = subscription[Symbol.asyncIterator]().next();
        const deadline = Date.now() + 10_000;
        while (reconnects.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        await subscription.close();
        expect(await pending).toEqual({ done: true, value: undefined });
        expect(reconnects.length).toBeGreaterThanOrEqual(3);
        expect(reconnects.every((info) => info.fromPosition === 'start' && info.delayMs <= 40)).toBe(true);
      } finally {
        await store.close();
      }
    },
    20_000,
  );
});
