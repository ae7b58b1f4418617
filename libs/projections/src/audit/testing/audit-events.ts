import type { DealEvent, DealEventMap, DealEventType } from '@deals/domain';
import type { DealEventMetadata, StoredDealEvent } from '@deals/deal-streams';

/** Stored deal events for audit tests: fixed ids and times, so hashes are stable. */

export interface StoredEventOptions {
  readonly dealId?: string;
  readonly revision?: number;
  readonly position?: number;
  readonly actor?: string;
  readonly occurredAt?: string;
  readonly recordedAt?: string;
  readonly eventId?: string;
  readonly commandId?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
}

export const dealA = '11111111-1111-4111-8111-111111111111';
export const dealB = '22222222-2222-4222-8222-222222222222';

const sampleData: { [T in DealEventType]: DealEventMap[T] } = {
  LeadCaptured: {
    dealId: dealA,
    title: 'Analytics rollout',
    organization: 'Acme',
    contact: { name: 'Ada', email: 'ada@acme.example' },
    source: 'referral',
    owner: 'jane',
    estimatedValue: { amount: 48000, currency: 'EUR' },
  },
  Qualified: { budget: true, authority: true, need: true, timeline: false },
  ProposalSent: { revision: 1, amount: { amount: 52000, currency: 'EUR' }, validUntil: '2026-04-01T00:00:00.000Z' },
  Negotiated: { round: 1, counterAmount: { amount: 47000, currency: 'EUR' }, objections: ['price'] },
  Closed: { outcome: 'won', finalAmount: { amount: 49500, currency: 'EUR' }, reason: 'Best fit' },
  FollowedUp: { channel: 'call', notes: 'Delivery check' },
};

export function storedEvent<T extends DealEventType>(
  type: T,
  options: StoredEventOptions = {},
  data: DealEventMap[T] = sampleData[type],
): StoredDealEvent {
  const revision = options.revision ?? 0;
  const position = BigInt(options.position ?? revision + 1);
  const dealId = options.dealId ?? dealA;
  const occurredAt = options.occurredAt ?? `2026-03-0${Math.min(revision + 1, 9)}T10:00:00.000Z`;
  const metadata: DealEventMetadata = {
    schemaVersion: 1,
    actor: options.actor ?? 'sam.sales',
    commandId: options.commandId ?? `cmd-${dealId.slice(0, 4)}-${revision}`,
    correlationId: options.correlationId ?? `corr-${dealId.slice(0, 4)}`,
    causationId: options.causationId ?? options.commandId ?? `cmd-${dealId.slice(0, 4)}-${revision}`,
    occurredAt,
    recordedAt: options.recordedAt ?? `2026-03-10T10:00:0${Math.min(revision, 9)}.000Z`,
  };
  return {
    eventId: options.eventId ?? `${dealId.slice(0, 8)}-0000-4000-8000-${String(revision).padStart(12, '0')}`,
    dealId,
    revision: BigInt(revision),
    position: { commit: position, prepare: position },
    event: { type, data, occurredAt } as DealEvent,
    storedData: { ...data },
    metadata,
  };
}

/** A small deterministic random source, so a failing case can be reproduced. */
export function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

export const actors = ['alice', 'bob', 'carol', '@eve'];
export const types: DealEventType[] = ['LeadCaptured', 'Qualified', 'ProposalSent', 'Negotiated', 'Closed', 'FollowedUp'];
export const deals = Array.from({ length: 6 }, (_, index) => `${String(index + 1).repeat(8)}-0000-4000-8000-000000000000`);

/** 120 events over 6 deals, interleaved, by 4 actors, recorded a minute apart; business times backdated at random. */
export function auditHistory(seed = 7, count = 120): StoredDealEvent[] {
  const next = random(seed);
  const revisions = new Map<string, number>();
  return Array.from({ length: count }, (_, index) => {
    const dealId = deals[Math.floor(next() * deals.length)]!;
    const revision = revisions.get(dealId) ?? 0;
    revisions.set(dealId, revision + 1);
    const type = revision === 0 ? 'LeadCaptured' : types[1 + Math.floor(next() * (types.length - 1))]!;
    return storedEvent(type, {
      dealId,
      revision,
      position: index + 1,
      actor: actors[Math.floor(next() * actors.length)]!,
      recordedAt: new Date(Date.UTC(2026, 2, 1) + index * 60_000).toISOString(),
      occurredAt: new Date(Date.UTC(2025, 0, 1) + Math.floor(next() * 400) * 86_400_000).toISOString(),
      eventId: `${String(index).padStart(8, '0')}-0000-4000-8000-000000000000`,
    });
  });
}
