import { comparePositions, type EventStore, type Position, type RecordedEvent } from '@deals/event-store';
import { RecentMap } from '@deals/platform';
import { dealStreamPrefix } from './deal-event-envelope';

/** How far a checkpointed consumer of the deal streams (a projection, the relay) is behind the store. */
export interface DealStreamLag {
  /** Events between the checkpoint and the head: exact in the embedded store, an estimate in EventStoreDB (log offsets). */
  readonly lagEvents: number;
  /** Age of the oldest deal event not consumed yet, in ms; 0 when caught up. */
  readonly lagMs: number;
  readonly caughtUp: boolean;
}

/**
 * The lag behind the head for a consumer whose checkpoint is `position`. Measured from the oldest
 * event not consumed yet: from the newest it would read 0 during a long catch-up, and from the
 * checkpoint's own time it would report hours after a quiet spell.
 */
export async function dealStreamLag(eventStore: EventStore, position: Position | undefined, now: number): Promise<DealStreamLag> {
  const head = await lastDealEvent(eventStore);
  if (head === undefined || (position !== undefined && comparePositions(position, head.position) >= 0)) {
    return { lagEvents: 0, lagMs: 0, caughtUp: true };
  }
  const oldest = await firstDealEventAfter(eventStore, position);
  return {
    lagEvents: Number(head.position.commit - (position?.commit ?? 0n)),
    lagMs: oldest === undefined ? 0 : Math.max(0, now - oldest.created.getTime()),
    caughtUp: false,
  };
}

/** The last deal event in the store. */
export function lastDealEvent(eventStore: EventStore): Promise<RecordedEvent | undefined> {
  return firstDealEvent(eventStore, { direction: 'backwards' });
}

/**
 * The first deal event after a position, once there is one, never changes: the log only grows at its
 * end. So each store remembers it for the last few positions asked about (one per consumer: the
 * projections and the relay), which every answer of a projection asks again until the projection
 * commits (a forward read with its JSON parsed, per answer).
 */
const firstAfterRemembered = new WeakMap<EventStore, RecentMap<string, RecordedEvent>>();
const rememberedPositions = 8;

/** The first deal event after `position` (from the start without one). */
async function firstDealEventAfter(eventStore: EventStore, position: Position | undefined): Promise<RecordedEvent | undefined> {
  let remembered = firstAfterRemembered.get(eventStore);
  const key = position === undefined ? 'start' : `${position.commit}/${position.prepare}`;
  const known = remembered?.get(key);
  if (known !== undefined) return known;
  const event = await firstDealEvent(eventStore, { fromPosition: position ?? 'start' }, position);
  if (event === undefined) return undefined;
  if (remembered === undefined) firstAfterRemembered.set(eventStore, (remembered = new RecentMap(rememberedPositions)));
  remembered.set(key, event);
  return event;
}

/**
 * The first deal event a read yields after `after`. Only deals have streams today, so a read of two
 * events (the first may be `after` itself: reads include their start) finds it; the full read that
 * follows is for stores that also hold other streams.
 */
async function firstDealEvent(
  eventStore: EventStore,
  options: { readonly direction?: 'backwards'; readonly fromPosition?: 'start' | Position },
  after?: Position,
): Promise<RecordedEvent | undefined> {
  for (const maxCount of [2, undefined]) {
    let seen = 0;
    for await (const event of eventStore.readAll(maxCount === undefined ? options : { ...options, maxCount })) {
      seen += 1;
      if (after !== undefined && comparePositions(event.position, after) <= 0) continue;
      if (event.streamId.startsWith(dealStreamPrefix)) return event;
    }
    if (maxCount !== undefined && seen < maxCount) return undefined;
  }
  return undefined;
}
