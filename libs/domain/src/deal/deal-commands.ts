import type { Money, MoneyInput } from '../money';
import type { Contact, FollowUpChannel, Outcome } from './deal-events';

interface CommandOf<T extends string, D> {
  readonly type: T;
  readonly data: D;
  /** Business time of the change (ISO 8601); the caller fills in "now" when the client gave none. */
  readonly occurredAt: string;
}

export type CaptureLead = CommandOf<
  'CaptureLead',
  {
    readonly dealId: string;
    readonly title: string;
    readonly organization: string;
    readonly contact: Contact;
    readonly source: string;
    readonly owner: string;
    readonly estimatedValue: Money;
  }
>;

export type QualifyDeal = CommandOf<
  'QualifyDeal',
  { readonly budget: boolean; readonly authority: boolean; readonly need: boolean; readonly timeline: boolean; readonly notes?: string }
>;

export type SendProposal = CommandOf<
  'SendProposal',
  { readonly amount: Money; readonly validUntil: string; readonly terms?: string; readonly winProbability?: number }
>;

export type NegotiateDeal = CommandOf<
  'NegotiateDeal',
  {
    readonly counterAmount?: MoneyInput;
    readonly discountPercent?: number;
    readonly objections?: readonly string[];
    readonly notes?: string;
    readonly winProbability?: number;
  }
>;

export type CloseDeal = CommandOf<
  'CloseDeal',
  { readonly outcome: Outcome; readonly finalAmount?: MoneyInput; readonly reason: string }
>;

export type RecordFollowUp = CommandOf<'RecordFollowUp', { readonly channel: FollowUpChannel; readonly notes: string }>;

export type DealCommand = CaptureLead | QualifyDeal | SendProposal | NegotiateDeal | CloseDeal | RecordFollowUp;
export type DealCommandType = DealCommand['type'];
