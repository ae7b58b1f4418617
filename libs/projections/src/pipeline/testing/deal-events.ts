import type { DealEvent, DealEventOf, LeadCaptured, Money } from '@deals/domain';

/** Small builders for the six business events, for projection and query tests. */

export const eur = (amount: number): Money => ({ amount, currency: 'EUR' });
export const usd = (amount: number): Money => ({ amount, currency: 'USD' });

/** `2025-MM-DDTHH:00:00.000Z`: business times in tests, all UTC. */
export const at = (month: number, day: number, hour = 9): string => new Date(Date.UTC(2025, month - 1, day, hour)).toISOString();

export function leadCaptured(
  occurredAt: string,
  overrides: Partial<LeadCaptured> & { readonly dealId: string },
): DealEventOf<'LeadCaptured'> {
  return {
    type: 'LeadCaptured',
    occurredAt,
    data: {
      title: 'Fleet telematics rollout',
      organization: 'Acme Logistics',
      contact: { name: 'Dana Reyes', email: 'dana@acme.example' },
      source: 'webinar',
      owner: 'alice',
      estimatedValue: eur(40_000),
      ...overrides,
    },
  };
}

export const qualified = (occurredAt: string): DealEventOf<'Qualified'> => ({
  type: 'Qualified',
  occurredAt,
  data: { budget: true, authority: true, need: true, timeline: true },
});

export const proposalSent = (occurredAt: string, amount: Money, options: { revision?: number; winProbability?: number } = {}): DealEventOf<'ProposalSent'> => ({
  type: 'ProposalSent',
  occurredAt,
  data: {
    revision: options.revision ?? 1,
    amount,
    validUntil: '2026-12-31T00:00:00.000Z',
    ...(options.winProbability === undefined ? {} : { winProbability: options.winProbability }),
  },
});

export const negotiated = (occurredAt: string, options: { round?: number; counterAmount?: Money; winProbability?: number } = {}): DealEventOf<'Negotiated'> => ({
  type: 'Negotiated',
  occurredAt,
  data: {
    round: options.round ?? 1,
    objections: ['price'],
    ...(options.counterAmount === undefined ? {} : { counterAmount: options.counterAmount }),
    ...(options.winProbability === undefined ? {} : { winProbability: options.winProbability }),
  },
});

export const won = (occurredAt: string, finalAmount: Money): DealEventOf<'Closed'> => ({
  type: 'Closed',
  occurredAt,
  data: { outcome: 'won', finalAmount, reason: 'Best fit' },
});

export const lost = (occurredAt: string, finalAmount?: Money): DealEventOf<'Closed'> => ({
  type: 'Closed',
  occurredAt,
  data: { outcome: 'lost', reason: 'No budget', ...(finalAmount === undefined ? {} : { finalAmount }) },
});

export const followedUp = (occurredAt: string): DealEventOf<'FollowedUp'> => ({
  type: 'FollowedUp',
  occurredAt,
  data: { channel: 'call', notes: 'Delivery check' },
});

export type { DealEvent };
