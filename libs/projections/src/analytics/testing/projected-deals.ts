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

/** Whether anything happened to a deal in (after, until]. */
export function changedIn(timeline: DealTimeline, after: number, until: number): boolean {
  const times = [timeline.capturedAt, timeline.closedAt, ...timeline.stints.flatMap((stint) => [stint.enteredAt, stint.leftAt]), ...timeline.values.map((change) => change.at)];
  return times.some((time) => time !== null && time > after && time <= until);
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
