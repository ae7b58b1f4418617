// Deal histories for the store-append baselines: the load generator's deal lives (the same command mix
// and bodies), validated and decided as the API does, so appends write the events the HTTP load writes.
import { randomUUID } from 'node:crypto';
import { type DealEvent, type DealState, decide, evolve, initialDealState } from '@deals/domain';
import { dealLife } from '../load/deal-life';
import { type DealCommandRoute, dealCommandRoutes, toDealCommand } from './emmett-deal';

export interface DealHistory {
  readonly dealId: string;
  readonly events: readonly DealEvent[];
}

function routeOf(path: string): DealCommandRoute {
  const segment = path === '/deals' ? undefined : path.split('/').pop();
  const route = dealCommandRoutes.find((candidate) => candidate.segment === segment);
  if (!route) throw new Error(`No command route for ${path}`);
  return route;
}

/** Whole deal lives, in order, until they hold at least `events` events. */
export async function dealHistories(events: number): Promise<DealHistory[]> {
  const histories: DealHistory[] = [];
  const now = new Date();
  let total = 0;
  for (let serial = 0; total < events; serial++) {
    const dealId = randomUUID();
    let state: DealState = initialDealState;
    const dealEvents: DealEvent[] = [];
    for (const step of dealLife(serial)) {
      const command = await toDealCommand(routeOf(step.path), JSON.parse(step.body), dealId, now);
      for (const event of decide(command, state, { now })) {
        dealEvents.push(event);
        state = evolve(state, event);
      }
    }
    histories.push({ dealId, events: dealEvents });
    total += dealEvents.length;
  }
  return histories;
}
