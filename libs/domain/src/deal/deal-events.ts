import type { Money } from '../money';

export interface Contact {
  readonly name: string;
  readonly email: string;
}

export interface LeadCaptured {
  readonly dealId: string;
  readonly title: string;
  readonly organization: string;
  readonly contact: Contact;
  readonly source: string;
  readonly owner: string;
  readonly estimatedValue: Money;
}

export interface Qualified {
  readonly budget: boolean;
  readonly authority: boolean;
  readonly need: boolean;
  readonly timeline: boolean;
  readonly notes?: string;
}

export interface ProposalSent {
  /** 1 for the first proposal, 2 for the first revision, and so on. */
  readonly revision: number;
  readonly amount: Money;
  readonly validUntil: string;
  readonly terms?: string;
  /** The seller's estimate of the chance to win (0–100), overriding the stage's default probability. */
  readonly winProbability?: number;
}

export interface Negotiated {
  /** 1 for the first round of negotiation, counting over the deal's whole life. */
  readonly round: number;
  readonly counterAmount?: Money;
  readonly discountPercent?: number;
  readonly objections: readonly string[];
  readonly notes?: string;
  /** The seller's estimate of the chance to win (0–100), overriding the stage's default probability. */
  readonly winProbability?: number;
}

export const outcomes = ['won', 'lost'] as const;
export type Outcome = (typeof outcomes)[number];

export interface Closed {
  readonly outcome: Outcome;
  readonly finalAmount?: Money;
  readonly reason: string;
}

export const followUpChannels = ['email', 'call', 'meeting', 'other'] as const;
export type FollowUpChannel = (typeof followUpChannels)[number];

export interface FollowedUp {
  readonly channel: FollowUpChannel;
  readonly notes: string;
}

/** The typed event map: one entry per event type, so payload types cannot drift from what is emitted. */
export interface DealEventMap {
  LeadCaptured: LeadCaptured;
  Qualified: Qualified;
  ProposalSent: ProposalSent;
  Negotiated: Negotiated;
  Closed: Closed;
  FollowedUp: FollowedUp;
}

export type DealEventType = keyof DealEventMap;

export const dealEventTypes: readonly DealEventType[] = [
  'LeadCaptured',
  'Qualified',
  'ProposalSent',
  'Negotiated',
  'Closed',
  'FollowedUp',
];

/**
 * A business event. `occurredAt` is business time (ISO 8601): when it happened in the
 * sales process, which for imported history lies before the time it was recorded.
 */
export type DealEvent = {
  [K in DealEventType]: { readonly type: K; readonly data: DealEventMap[K]; readonly occurredAt: string };
}[DealEventType];

export type DealEventOf<K extends DealEventType> = Extract<DealEvent, { type: K }>;

export function isDealEventType(type: string): type is DealEventType {
  return (dealEventTypes as readonly string[]).includes(type);
}
