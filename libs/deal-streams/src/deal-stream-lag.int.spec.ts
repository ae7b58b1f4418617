import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EmbeddedEventStore, type Position, type ReadAllOptions } from '@deals/event-store';
import { dealStreamPrefix } from './deal-event-envelope';
import { dealStreamLag } from './deal-stream-lag';

describe('deal stream lag', () => {
  let dir: string;
  let store: EmbeddedEventStore;
  let forwardReads: number;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deal-stream-lag-'));
    store = EmbeddedEventStore.open({ path: path.join(dir, 'events.sqlite') });
    forwardReads = 0;
    const readAll = store.readAll.bind(store);
    jest.spyOn(store, 'readAll').mockImplementation((options?: ReadAllOptions) => {
      if (options?.direction !== 'backwards') forwardReads++;
      return readAll(options);
    });
  });

  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** An event of its own deal, committed a few milliseconds after the one before, so that their times differ. */
  async function append(deal: string): Promise<Position> {
    await new Promise((wake) => setTimeout(wake, 3));
    const result = await store.appendToStream(`${dealStreamPrefix}${deal}`, [{ id: randomUUID(), type: 'Noted', data: {}, metadata: {} }], { expectedRevision: 'any' });
    return result.position;
  }

  async function createdAt(position: Position): Promise<number> {
    for await (const event of store.readAll({ fromPosition: position, maxCount: 1 })) return event.created.getTime();
    throw new Error('no event there');
  }

  it('given a checkpoint behind the head, when asked again before it moves, then it reads the oldest pending event once', async () => {
    const first = await append('a');
    const second = await append('b');
    await append('c');
    const now = (await createdAt(second)) + 5_000;
    const oldest = await createdAt(second);
    forwardReads = 0;

    const lag = await dealStreamLag(store, first, now);
    const again = await dealStreamLag(store, first, now);

    expect(lag).toEqual({ lagEvents: 2, lagMs: now - oldest, caughtUp: false });
    expect(again).toEqual(lag);
    expect(forwardReads).toBe(1);
  });

  it('given a remembered oldest event, when the checkpoint moves, then the lag is measured from the event after the new checkpoint', async () => {
    const first = await append('a');
    const second = await append('b');
    const third = await append('c');
    const now = (await createdAt(third)) + 5_000;
    await dealStreamLag(store, first, now);

    const moved = await dealStreamLag(store, second, now);

    expect(moved).toEqual({ lagEvents: 1, lagMs: now - (await createdAt(third)), caughtUp: false });
    expect(await dealStreamLag(store, third, now)).toEqual({ lagEvents: 0, lagMs: 0, caughtUp: true });
  });

  it('given no checkpoint, then the lag is measured from the first deal event, remembered too, and not for a checkpoint', async () => {
    const first = await append('a');
    const second = await append('b');
    const now = (await createdAt(first)) + 1_000;
    forwardReads = 0;

    expect(await dealStreamLag(store, undefined, now)).toEqual({ lagEvents: 2, lagMs: now - (await createdAt(first)), caughtUp: false });
    forwardReads = 0;
    expect(await dealStreamLag(store, undefined, now)).toMatchObject({ lagEvents: 2, caughtUp: false });
    expect(forwardReads).toBe(0);
    expect(await dealStreamLag(store, first, now)).toEqual({ lagEvents: 1, lagMs: now - (await createdAt(second)), caughtUp: false });
  });

  it('given consumers at different checkpoints asking in turn, then each one\'s oldest pending event is read once', async () => {
    const first = await append('a');
    const second = await append('b');
    const third = await append('c');
    const [secondAt, thirdAt] = [await createdAt(second), await createdAt(third)];
    const now = thirdAt + 1_000;
    forwardReads = 0;
    for (let round = 0; round < 3; round++) {
      expect(await dealStreamLag(store, first, now)).toEqual({ lagEvents: 2, lagMs: now - secondAt, caughtUp: false });
      expect(await dealStreamLag(store, second, now)).toEqual({ lagEvents: 1, lagMs: now - thirdAt, caughtUp: false });
    }
    expect(forwardReads).toBe(2);
  });
});
