import { batches } from './batches';
import type { RecordedEvent } from './event-store.port';

function event(n: number): RecordedEvent {
  const position = { commit: BigInt(n), prepare: BigInt(n) };
  return { id: `e${n}`, type: 'Test', streamId: 'deal-1', revision: BigInt(n - 1), position, data: {}, metadata: {}, created: new Date(0) };
}

/** A source that hands out the events given, then waits until released or ended. */
function source(first: readonly RecordedEvent[]) {
  const queue = [...first];
  let wake: (() => void) | undefined;
  let ended = false;
  const iterable: AsyncIterable<RecordedEvent> = {
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<RecordedEvent>> {
        while (queue.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
        const value = queue.shift();
        return value ? { value, done: false } : { value: undefined, done: true };
      },
    }),
  };
  return {
    iterable,
    push: (...events: RecordedEvent[]) => {
      queue.push(...events);
      wake?.();
    },
    end: () => {
      ended = true;
      wake?.();
    },
  };
}

const ids = (batch: readonly RecordedEvent[]) => batch.map((item) => item.id);

describe('batches', () => {
  it('closes a batch when it is full, and hands over the partial last one when the stream ends', async () => {
    const events = source([1, 2, 3, 4, 5].map(event));
    events.end();
    const seen: string[][] = [];
    for await (const batch of batches(events.iterable, { size: 2, maxDelayMs: () => undefined })) seen.push(ids(batch));
    expect(seen).toEqual([['e1', 'e2'], ['e3', 'e4'], ['e5']]);
  });

  it('closes a batch right after an event the consumer marks, such as its catch-up target', async () => {
    const events = source([1, 2, 3, 4].map(event));
    events.end();
    const seen: string[][] = [];
    const options = { size: 10, maxDelayMs: () => undefined, closeAfter: (item: RecordedEvent) => item.id === 'e2' };
    for await (const batch of batches(events.iterable, options)) seen.push(ids(batch));
    expect(seen).toEqual([['e1', 'e2'], ['e3', 'e4']]);
  });

  it('hands over a partial batch once its deadline passes, while the stream stays open', async () => {
    const events = source([1, 2].map(event));
    const stream = batches(events.iterable, { size: 100, maxDelayMs: () => 5 });
    await expect(stream.next()).resolves.toEqual({ value: [event(1), event(2)], done: false });
    events.push(event(3));
    events.end();
    await expect(stream.next()).resolves.toEqual({ value: [event(3)], done: false });
    await expect(stream.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it('waits for a full batch when the consumer sets no deadline (a catch-up)', async () => {
    const events = source([1].map(event));
    const stream = batches(events.iterable, { size: 2, maxDelayMs: () => undefined });
    const first = stream.next();
    let handedOver = false;
    void first.then(() => (handedOver = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(handedOver).toBe(false);
    events.push(event(2));
    await expect(first).resolves.toEqual({ value: [event(1), event(2)], done: false });
  });
});
