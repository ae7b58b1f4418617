/** Deal histories for the relay's tests, shared with the kill test's child process. */
import { randomUUID } from 'node:crypto';
import { dealStreamId, toEventToAppend } from '@deals/deal-streams';
import type { DealEvent } from '@deals/domain';
import type { AppendResult, EventStore } from '@deals/event-store';

export function leadCaptured(dealId: string, occurredAt: string): DealEvent {
  return {
    type: 'LeadCaptured',
    occurredAt,
    data: {
      dealId,
      title: 'Fleet telematics rollout',
      organization: 'Acme Logistics',
      contact: { name: 'Dana Reyes', email: 'dana@acme.example' },
      source: 'webinar',
      owner: 'alice',
      estimatedValue: { amount: 40_000, currency: 'EUR' },
    },
  } as DealEvent;
}

export function negotiated(round: number, occurredAt: string): DealEvent {
  return { type: 'Negotiated', occurredAt, data: { round, objections: ['price'] } } as DealEvent;
}

/** Appends events to one deal's stream at `firstRevision`; returns the ids in order. */
export async function appendDealEvents(
  store: EventStore,
  dealId: string,
  events: readonly DealEvent[],
  firstRevision: number,
): Promise<{ readonly ids: string[]; readonly result: AppendResult }> {
  const commandId = randomUUID();
  const ids = events.map(() => randomUUID());
  const result = await store.appendToStream(
    dealStreamId(dealId),
    events.map((event, i) =>
      toEventToAppend(ids[i]!, event, {
        actor: 'relay-test',
        commandId,
        correlationId: commandId,
        causationId: commandId,
        recordedAt: new Date().toISOString(),
      }),
    ),
    { expectedRevision: firstRevision === 0 ? 'no_stream' : BigInt(firstRevision - 1) },
  );
  return { ids, result };
}

/**
 * `deals` deals of `perDeal` events each (a LeadCaptured, then negotiation rounds), appended
 * `perAppend` events of each deal at a time, interleaving the deals. Returns each deal's event ids in order.
 */
export async function writeDeals(store: EventStore, deals: number, perDeal: number, perAppend = 5): Promise<Map<string, string[]>> {
  const history = new Map<string, string[]>();
  const dealIds = Array.from({ length: deals }, () => randomUUID());
  for (const dealId of dealIds) history.set(dealId, []);
  const start = Date.UTC(2025, 0, 1);
  for (let from = 0; from < perDeal; from += perAppend) {
    await Promise.all(
      dealIds.map(async (dealId) => {
        const events: DealEvent[] = [];
        for (let n = from; n < Math.min(perDeal, from + perAppend); n += 1) {
          const at = new Date(start + n * 3_600_000).toISOString();
          events.push(n === 0 ? leadCaptured(dealId, at) : negotiated(n, at));
        }
        const { ids } = await appendDealEvents(store, dealId, events, from);
        history.get(dealId)!.push(...ids);
      }),
    );
  }
  return history;
}
