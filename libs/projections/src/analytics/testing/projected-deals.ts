import type { StoredDealEvent } from '@deals/deal-streams';
import { InMemoryReadModelStore } from '../../pipeline/testing/in-memory-read-model';
import { analyticsDealCollection, analyticsProjection } from '../analytics.projection';
import type { DealTimeline } from '../deal-timeline';

/** A read model of the analytics projection, the events projected. */
export function projected(events: readonly StoredDealEvent[]): InMemoryReadModelStore {
  const store = new InMemoryReadModelStore();
  store.project(analyticsProjection, events);
  return store;
}

/** Every deal's timeline the read model holds: what a scan adds up. */
export function timelines(store: InMemoryReadModelStore): DealTimeline[] {
  return [...(store.documents.get(analyticsDealCollection)?.values() ?? [])] as unknown as DealTimeline[];
}

/** What a question answers, and the deals whose timelines it read to answer it. */
export async function readsOf<T>(model: InMemoryReadModelStore, ask: () => Promise<T>): Promise<{ answer: T; read: string[] }> {
  const reads = jest.spyOn(model, 'getMany');
  try {
    const answer = await ask();
    return { answer, read: reads.mock.calls.flatMap(([, ids]) => ids) };
  } finally {
    reads.mockRestore();
  }
}

/** Every instant something happened to the deal. */
export function eventTimes(deal: DealTimeline): number[] {
  const times = [deal.capturedAt, deal.closedAt, ...deal.stints.flatMap((stint) => [stint.enteredAt, stint.leftAt]), ...deal.values.map((change) => change.at)];
  return times.filter((time): time is number => time !== null);
}
