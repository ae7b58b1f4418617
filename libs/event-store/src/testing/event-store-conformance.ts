import { randomUUID } from 'node:crypto';
import {
  AppendResult,
  AppendTooLargeError,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  IdempotencyViolationError,
  JsonObject,
  ReadStreamOptions,
  RecordedEvent,
  Subscription,
  WrongExpectedRevisionError,
  comparePositions,
  maxAppendBytes,
} from '../event-store.port';

export interface EventStoreFixture {
  readonly store: EventStore;
  /** Closes the store and opens it again on the same data; the suite then uses the store it returns. */
  readonly reopen?: () => Promise<EventStore>;
  /** Closes whatever store is open and releases what the fixture made. */
  readonly cleanup: () => Promise<void>;
}

/** Bounds every wait on a subscription, so a missing event fails the test instead of hanging it. */
const waitMs = 5_000;
/** For the tests that wait on subscriptions or write a lot. */
const slowTestMs = 20_000;

/**
 * The behaviour every EventStore adapter must have, written only against the port. Each test owns its
 * data (random stream ids) and never truncates anything, so it can run against a shared server too.
 */
export function describeEventStoreConformance(
  adapterName: string,
  createStore: () => Promise<EventStoreFixture>,
): void {
  describe(`EventStore conformance: ${adapterName}`, () => {
    let fixture: EventStoreFixture;
    let store: EventStore;

    beforeEach(async () => {
      fixture = await createStore();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    /** Appends and answers the stream's revision after it. */
    async function revisionAfter(stream: string, list: EventToAppend[], expectedRevision: ExpectedRevision) {
      return (await store.appendToStream(stream, list, { expectedRevision })).nextExpectedRevision;
    }

    describe('expected revision', () => {
      it("'any' appends to a new stream and to an existing one", async () => {
        const stream = streamId();
        expect(await revisionAfter(stream, events(2), 'any')).toBe(1n);
        expect(await revisionAfter(stream, events(1), 'any')).toBe(2n);
      });

      it("no expectation means 'any'", async () => {
        const stream = streamId();
        await store.appendToStream(stream, events(1));
        expect((await store.appendToStream(stream, events(1))).nextExpectedRevision).toBe(1n);
      });

      it("'no_stream' creates a stream and refuses an existing one, naming its revision", async () => {
        const stream = streamId();
        expect(await revisionAfter(stream, events(3), 'no_stream')).toBe(2n);

        const error = await refusal(store.appendToStream(stream, events(1), { expectedRevision: 'no_stream' }));
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toMatchObject({ streamId: stream, expected: 'no_stream', actual: 2n });
      });

      it("'stream_exists' refuses a missing stream and appends to an existing one", async () => {
        const stream = streamId();
        const error = await refusal(store.appendToStream(stream, events(1), { expectedRevision: 'stream_exists' }));
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toMatchObject({ streamId: stream, expected: 'stream_exists', actual: 'no_stream' });

        await store.appendToStream(stream, events(1), { expectedRevision: 'no_stream' });
        expect(await revisionAfter(stream, events(1), 'stream_exists')).toBe(1n);
      });

      it('an exact revision appends when it matches the last event and refuses a stale or future one', async () => {
        const stream = streamId();
        await store.appendToStream(stream, events(2), { expectedRevision: 'no_stream' });
        expect(await revisionAfter(stream, events(1), 1n)).toBe(2n);

        for (const stale of [0n, 1n, 3n, 10n]) {
          const error = await refusal(store.appendToStream(stream, events(1), { expectedRevision: stale }));
          expect(error).toBeInstanceOf(WrongExpectedRevisionError);
          expect(error).toMatchObject({ streamId: stream, expected: stale, actual: 2n });
        }
      });

      it('an exact revision refuses a missing stream', async () => {
        const stream = streamId();
        const error = await refusal(store.appendToStream(stream, events(1), { expectedRevision: 0n }));
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toMatchObject({ streamId: stream, expected: 0n, actual: 'no_stream' });
        expect(await collect(store.readStream(stream))).toEqual([]);
      });

      it('an empty append checks the expectation and appends nothing', async () => {
        const stream = streamId();
        expect(await revisionAfter(stream, [], 'no_stream')).toBe(-1n);
        expect(await collect(store.readStream(stream))).toEqual([]);

        await store.appendToStream(stream, events(2), { expectedRevision: 'no_stream' });
        expect(await revisionAfter(stream, [], 1n)).toBe(1n);
        expect(await revisionAfter(stream, [], 'any')).toBe(1n);
        const error = await refusal(store.appendToStream(stream, [], { expectedRevision: 0n }));
        expect(error).toMatchObject({ streamId: stream, expected: 0n, actual: 1n });
        expect(await collect(store.readStream(stream))).toHaveLength(2);
      });
    });

    describe('revisions and positions', () => {
      it('revisions start at 0 and stay contiguous across appends', async () => {
        const stream = streamId();
        await store.appendToStream(stream, events(3));
        await store.appendToStream(stream, events(1));
        await store.appendToStream(stream, events(2));
        const revisions = (await collect(store.readStream(stream))).map((event) => event.revision);
        expect(revisions).toEqual(range(6));
      });

      it("positions strictly increase across streams; a result names its last event's position", async () => {
        const [a, b] = [streamId(), streamId()];
        const results: AppendResult[] = [];
        for (const stream of [a, b, a, b, a]) results.push(await store.appendToStream(stream, events(2)));
        for (let i = 1; i < results.length; i += 1) {
          expect(comparePositions(results[i - 1]!.position, results[i]!.position)).toBe(-1);
        }

        const [lastOfA] = await collect(store.readStream(a, { direction: 'backwards', maxCount: 1 }));
        expect(lastOfA?.position).toEqual(results[4]?.position);
        const ours = (await collect(store.readAll())).filter((event) => event.streamId === a || event.streamId === b);
        expect(ours.map((event) => event.streamId)).toEqual([a, a, b, b, a, a, b, b, a, a]);
        expectIncreasingPositions(ours);
      });

      it('a recorded event carries what was written', async () => {
        const stream = streamId();
        const written = event('DealQualified', {
          budget: true,
          notes: 'ünïcødé, "quotes" and\nnew lines',
          nested: { list: [1, 2.5, null, 'x'], empty: {} },
        });
        const before = Date.now();
        const result = await store.appendToStream(stream, [written]);
        const [read] = await collect(store.readStream(stream));
        expect(read).toMatchObject({
          id: written.id,
          type: 'DealQualified',
          streamId: stream,
          revision: 0n,
          position: result.position,
          data: written.data,
          metadata: written.metadata,
        });
        expect(read?.created).toBeInstanceOf(Date);
        // Generous bounds: a server's clock may differ a little from the test's.
        expect(Math.abs((read?.created.getTime() ?? 0) - before)).toBeLessThan(60_000);
      });
    });

    describe('readStream', () => {
      it('reads forwards and backwards', async () => {
        const stream = streamId();
        const written = events(5);
        await store.appendToStream(stream, written);
        expect(ids(await collect(store.readStream(stream)))).toEqual(ids(written));
        const backwards = await collect(store.readStream(stream, { direction: 'backwards' }));
        expect(ids(backwards)).toEqual(ids(written).reverse());
      });

      it('reads from an inclusive revision, up to maxCount, both ways', async () => {
        const stream = streamId();
        await store.appendToStream(stream, events(10));
        const revisions = async (options: ReadStreamOptions) =>
          (await collect(store.readStream(stream, options))).map((event) => event.revision);

        expect(await revisions({ fromRevision: 3n, maxCount: 4 })).toEqual([3n, 4n, 5n, 6n]);
        expect(await revisions({ fromRevision: 8n })).toEqual([8n, 9n]);
        expect(await revisions({ direction: 'backwards', fromRevision: 5n, maxCount: 3 })).toEqual([5n, 4n, 3n]);
        expect(await revisions({ direction: 'backwards', fromRevision: 'end', maxCount: 2 })).toEqual([9n, 8n]);
        expect(await revisions({ direction: 'backwards', fromRevision: 1n })).toEqual([1n, 0n]);
        expect(await revisions({ fromRevision: 'start', maxCount: 2 })).toEqual([0n, 1n]);
        expect(await revisions({ fromRevision: 10n })).toEqual([]);
      });

      it('a missing stream reads as empty, both ways', async () => {
        const stream = streamId();
        expect(await collect(store.readStream(stream))).toEqual([]);
        expect(await collect(store.readStream(stream, { direction: 'backwards' }))).toEqual([]);
      });

      it(
        'reads a long stream whole and in order, both ways',
        async () => {
          const stream = streamId();
          for (let i = 0; i < 3; i += 1) await store.appendToStream(stream, events(400));
          const forwards = await collect(store.readStream(stream));
          expect(forwards.map((event) => event.revision)).toEqual(range(1_200));
          const backwards = await collect(store.readStream(stream, { direction: 'backwards' }));
          expect(backwards.map((event) => event.revision)).toEqual(range(1_200).reverse());
        },
        slowTestMs,
      );
    });

    describe('readAll', () => {
      it('reads forwards from an inclusive position, up to maxCount', async () => {
        const stream = streamId();
        await store.appendToStream(stream, events(2));
        const middle = await collect(store.readStream(stream, { fromRevision: 1n }));
        await store.appendToStream(streamId(), events(3));

        const read = await collect(store.readAll({ fromPosition: middle[0]!.position, maxCount: 3 }));
        expect(read).toHaveLength(3);
        expect(read[0]?.id).toBe(middle[0]?.id);
        expectIncreasingPositions(read);
      });

      it('reads backwards from an inclusive position, up to maxCount', async () => {
        const stream = streamId();
        const written = events(4);
        await store.appendToStream(stream, written);
        const [third] = await collect(store.readStream(stream, { fromRevision: 2n, maxCount: 1 }));

        const read = await collect(
          store.readAll({ direction: 'backwards', fromPosition: third!.position, maxCount: 3 }),
        );
        expect(ids(read)).toEqual([written[2]!.id, written[1]!.id, written[0]!.id]);
      });

      it("reads backwards from 'end', newest first", async () => {
        const [a, b] = [streamId(), streamId()];
        const first = events(2);
        const second = events(2);
        await store.appendToStream(a, first);
        await store.appendToStream(b, second);

        const newestFirst: RecordedEvent[] = [];
        for await (const recorded of store.readAll({ direction: 'backwards' })) {
          if (recorded.streamId === a || recorded.streamId === b) newestFirst.push(recorded);
          if (newestFirst.length === 4) break;
        }
        expect(ids(newestFirst)).toEqual(ids([...first, ...second]).reverse());
      });

      it("reads forwards from 'start' in position order", async () => {
        const [a, b] = [streamId(), streamId()];
        await store.appendToStream(a, events(1));
        await store.appendToStream(b, events(1));
        await store.appendToStream(a, events(1));
        const all = await collect(store.readAll());
        expectIncreasingPositions(all);
        const ours = all.filter((event) => event.streamId === a || event.streamId === b);
        expect(ours.map((event) => event.streamId)).toEqual([a, b, a]);
      });
    });

    describe('event-id idempotency', () => {
      it('the same ids at the same expected revision return the first result and append nothing', async () => {
        const stream = streamId();
        const firstAppend = events(2);
        const first = await store.appendToStream(stream, firstAppend, { expectedRevision: 'no_stream' });
        const secondAppend = events(1);
        const second = await store.appendToStream(stream, secondAppend, { expectedRevision: 1n });

        expect(await store.appendToStream(stream, firstAppend, { expectedRevision: 'no_stream' })).toEqual(first);
        expect(await store.appendToStream(stream, secondAppend, { expectedRevision: 1n })).toEqual(second);
        expect(ids(await collect(store.readStream(stream)))).toEqual(ids([...firstAppend, ...secondAppend]));
      });

      it("the same ids with 'any' are a no-op that returns the first result", async () => {
        const stream = streamId();
        const appended = events(3);
        const first = await store.appendToStream(stream, appended, { expectedRevision: 'any' });
        await store.appendToStream(stream, events(1));

        expect(await store.appendToStream(stream, appended, { expectedRevision: 'any' })).toEqual(first);
        expect(await collect(store.readStream(stream))).toHaveLength(4);
      });

      it('ids of which only the first part was appended are refused, and nothing is appended', async () => {
        const stream = streamId();
        const appended = events(2);
        await store.appendToStream(stream, appended, { expectedRevision: 'no_stream' });
        const overlapping = [...appended, event()];

        for (const expectedRevision of ['no_stream', 'any'] as const) {
          const error = await refusal(store.appendToStream(stream, overlapping, { expectedRevision }));
          expect(error).toBeInstanceOf(IdempotencyViolationError);
          expect(error).toMatchObject({ streamId: stream });
        }
        expect(ids(await collect(store.readStream(stream)))).toEqual(ids(appended));
      });

      it('the same ids in another stream are appended there', async () => {
        const [a, b] = [streamId(), streamId()];
        const appended = events(2);
        await store.appendToStream(a, appended, { expectedRevision: 'no_stream' });
        expect(await revisionAfter(b, appended, 'no_stream')).toBe(1n);
        expect(ids(await collect(store.readStream(b)))).toEqual(ids(appended));
      });
    });

    describe('atomicity and limits', () => {
      it('a refused append leaves nothing behind', async () => {
        const stream = streamId();
        await store.appendToStream(stream, events(1), { expectedRevision: 'no_stream' });
        const refused = events(3);
        await refusal(store.appendToStream(stream, refused, { expectedRevision: 5n }));

        expect(await collect(store.readStream(stream))).toHaveLength(1);
        const refusedIds = new Set(ids(refused));
        expect((await collect(store.readAll())).filter((recorded) => refusedIds.has(recorded.id))).toEqual([]);
      });

      it('an append larger than maxAppendBytes is refused whole', async () => {
        const stream = streamId();
        const half = 'x'.repeat(Math.ceil(maxAppendBytes / 2));
        const error = await refusal(
          store.appendToStream(stream, [event('Big', { text: half }), event('Big', { text: half })]),
        );
        expect(error).toBeInstanceOf(AppendTooLargeError);
        expect(error).toMatchObject({ streamId: stream });
        expect(await collect(store.readStream(stream))).toEqual([]);
      });
    });

    describe('concurrent writers on one stream', () => {
      it(
        'of 50 appends expecting the same revision exactly one wins; the others learn the actual revision',
        async () => {
          const stream = streamId();
          await store.appendToStream(stream, events(1), { expectedRevision: 'no_stream' });
          const attempts = Array.from({ length: 50 }, () => events(2));
          const outcomes = await Promise.allSettled(
            attempts.map((attempt) => store.appendToStream(stream, attempt, { expectedRevision: 0n })),
          );

          const winners = outcomes.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [index] : []));
          expect(winners).toHaveLength(1);
          for (const outcome of outcomes) {
            if (outcome.status === 'rejected') {
              expect(outcome.reason).toBeInstanceOf(WrongExpectedRevisionError);
              expect(outcome.reason).toMatchObject({ expected: 0n, actual: 2n });
            }
          }
          const stored = await collect(store.readStream(stream));
          expect(ids(stored.slice(1))).toEqual(ids(attempts[winners[0]!]!));
          expect(stored.map((recorded) => recorded.revision)).toEqual([0n, 1n, 2n]);
        },
        slowTestMs,
      );

      it(
        "50 appends with 'any' all land, none lost, revisions without a gap",
        async () => {
          const stream = streamId();
          const attempts = Array.from({ length: 50 }, () => events(1));
          const results = await Promise.all(attempts.map((attempt) => store.appendToStream(stream, attempt)));

          expect(results.map((result) => result.nextExpectedRevision).sort(compareBigints)).toEqual(range(50));
          const stored = await collect(store.readStream(stream));
          expect(stored.map((recorded) => recorded.revision)).toEqual(range(50));
          expect(new Set(ids(stored))).toEqual(new Set(attempts.flatMap(ids)));
        },
        slowTestMs,
      );
    });

    describe('subscribeToAll', () => {
      it(
        "catches up from 'start', then delivers live appends, in global order",
        async () => {
          const [a, b] = [streamId(), streamId()];
          await store.appendToStream(a, events(3));
          await store.appendToStream(b, events(2));
          const subscription = store.subscribeToAll({ fromPosition: 'start' });
          try {
            const ours = (recorded: RecordedEvent) => recorded.streamId === a || recorded.streamId === b;
            const caughtUp = await take(subscription, 5, ours);
            expect(caughtUp.map((recorded) => recorded.streamId)).toEqual([a, a, a, b, b]);

            const live = events(2);
            await store.appendToStream(b, live.slice(0, 1));
            await store.appendToStream(a, live.slice(1));
            const delivered = await take(subscription, 2, ours);
            expect(ids(delivered)).toEqual(ids(live));
            expectIncreasingPositions([...caughtUp, ...delivered]);
          } finally {
            await subscription.close();
          }
        },
        slowTestMs,
      );

      it(
        'from a stored position delivers exactly the events after it',
        async () => {
          const stream = streamId();
          const written = events(4);
          await store.appendToStream(stream, written);
          const [second] = await collect(store.readStream(stream, { fromRevision: 1n, maxCount: 1 }));
          const subscription = store.subscribeToAll({ fromPosition: second!.position });
          try {
            const delivered = await take(subscription, 2, (recorded) => recorded.streamId === stream);
            expect(ids(delivered)).toEqual(ids(written.slice(2)));
            const later = events(1);
            await store.appendToStream(stream, later);
            expect(ids(await take(subscription, 1, (recorded) => recorded.streamId === stream))).toEqual(ids(later));
          } finally {
            await subscription.close();
          }
        },
        slowTestMs,
      );

      it(
        'never delivers the event at or before its starting position',
        async () => {
          const stream = streamId();
          const result = await store.appendToStream(stream, events(3));
          const subscription = store.subscribeToAll({ fromPosition: result.position });
          try {
            const later = events(1);
            await store.appendToStream(stream, later);
            const [next] = await take(subscription, 1, (recorded) => recorded.streamId === stream);
            expect(next?.id).toBe(later[0]?.id);
          } finally {
            await subscription.close();
          }
        },
        slowTestMs,
      );

      it(
        'catches up over more events than one read returns',
        async () => {
          const stream = streamId();
          for (let i = 0; i < 3; i += 1) await store.appendToStream(stream, events(400));
          const subscription = store.subscribeToAll({ fromPosition: 'start' });
          try {
            const delivered = await take(subscription, 1_200, (recorded) => recorded.streamId === stream);
            expect(delivered.map((recorded) => recorded.revision)).toEqual(range(1_200));
          } finally {
            await subscription.close();
          }
        },
        slowTestMs,
      );

      it(
        'delivers only streams starting with one of the prefixes, taken literally',
        async () => {
          const tag = randomUUID().replaceAll('-', '');
          const wanted = [`${tag}-a-1`, `${tag}_b%-1`];
          const unwanted = [`${tag}-c-1`, `${tag}Xb%-1`, `${tag}_bb-1`, `x${tag}-a-1`];
          const subscription = store.subscribeToAll({
            fromPosition: 'start',
            streamPrefixes: [`${tag}-a`, `${tag}_b%`],
          });
          try {
            for (const stream of [unwanted[0]!, wanted[0]!, unwanted[1]!, unwanted[2]!, wanted[1]!, unwanted[3]!]) {
              await store.appendToStream(stream, events(1));
            }
            const delivered = await take(subscription, 2, () => true);
            expect(delivered.map((recorded) => recorded.streamId)).toEqual(wanted);

            // Nothing unwanted trails behind: the next event delivered is the next wanted one.
            await store.appendToStream(unwanted[0]!, events(1));
            await store.appendToStream(wanted[0]!, events(1));
            const [next] = await take(subscription, 1, () => true);
            expect(next).toMatchObject({ streamId: wanted[0], revision: 1n });
          } finally {
            await subscription.close();
          }
        },
        slowTestMs,
      );

      it(
        'close() ends the iteration: a pending next() resolves done',
        async () => {
          const nothing = [`none-${randomUUID()}`];
          const subscription = store.subscribeToAll({ fromPosition: 'start', streamPrefixes: nothing });
          const iterator = subscription[Symbol.asyncIterator]();
          const pending = iterator.next();
          await subscription.close();
          expect((await within(pending, () => 'the pending next() after close()')).done).toBe(true);
          expect((await within(iterator.next(), () => 'next() after close()')).done).toBe(true);
        },
        slowTestMs,
      );

      it(
        'close() ends a for-await loop',
        async () => {
          const stream = streamId();
          await store.appendToStream(stream, events(3));
          const subscription = store.subscribeToAll({ fromPosition: 'start' });
          const seen: RecordedEvent[] = [];
          const loop = (async () => {
            for await (const recorded of subscription) {
              if (recorded.streamId !== stream) continue;
              seen.push(recorded);
              if (seen.length === 2) await subscription.close();
            }
          })();
          await within(loop, () => 'the for-await loop to end');
          expect(seen).toHaveLength(2);
        },
        slowTestMs,
      );
    });

    it('acknowledged events survive reopening the store (when the adapter can reopen)', async () => {
      const reopen = fixture.reopen;
      if (reopen === undefined) return;
      const stream = streamId();
      const written = events(3);
      const result = await store.appendToStream(stream, written);
      store = await reopen();

      const read = await collect(store.readStream(stream));
      expect(ids(read)).toEqual(ids(written));
      expect(read.at(-1)?.position).toEqual(result.position);
      expect(await revisionAfter(stream, events(1), 2n)).toBe(3n);
    });
  });
}

function streamId(): string {
  return `conformance-${randomUUID()}`;
}

function event(type = 'Tested', data: JsonObject = { value: randomUUID() }): EventToAppend {
  return { id: randomUUID(), type, data, metadata: { correlationId: randomUUID() } };
}

function events(count: number): EventToAppend[] {
  return Array.from({ length: count }, () => event());
}

export function ids(list: readonly { readonly id: string }[]): string[] {
  return list.map((item) => item.id);
}

function range(count: number): bigint[] {
  return Array.from({ length: count }, (_, index) => BigInt(index));
}

function compareBigints(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function expectIncreasingPositions(list: readonly RecordedEvent[]): void {
  for (let i = 1; i < list.length; i += 1) {
    expect(comparePositions(list[i - 1]!.position, list[i]!.position)).toBe(-1);
  }
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** The error a promise rejects with; fails when it fulfils. */
export async function refusal(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('Expected a refusal, but the promise fulfilled');
}

async function within<T>(promise: Promise<T>, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${waitMs} ms waiting for ${what()}`)), waitMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The next `count` accepted events of a subscription, or a failure after `waitMs`. Leaves it open. */
async function take(
  subscription: Subscription,
  count: number,
  accept: (recorded: RecordedEvent) => boolean,
): Promise<RecordedEvent[]> {
  const iterator = subscription[Symbol.asyncIterator]();
  const taken: RecordedEvent[] = [];
  const read = async () => {
    while (taken.length < count) {
      const next = await iterator.next();
      if (next.done) throw new Error(`The subscription ended after ${taken.length} of ${count} events`);
      if (accept(next.value)) taken.push(next.value);
    }
    return taken;
  };
  return within(read(), () => `${count} events (got ${taken.length})`);
}
