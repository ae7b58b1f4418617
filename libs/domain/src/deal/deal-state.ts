import type { Money } from '../money';
import type { Contact, DealEvent, Outcome, Qualified } from './deal-events';
import type { Stage } from './stage';

export interface NoDeal {
  readonly exists: false;
}

export interface Deal {
  readonly exists: true;
  readonly dealId: string;
  readonly stage: Stage;
  readonly title: string;
  readonly organization: string;
  readonly contact: Contact;
  readonly source: string;
  readonly owner: string;
  /** The latest figure: estimate, then each proposal, counter amount and final amount. */
  readonly value: Money;
  readonly capturedAt: string;
  readonly lastOccurredAt: string;
  readonly qualification?: Qualified;
  readonly proposals: number;
  readonly negotiationRounds: number;
  readonly latestProposalAt?: string;
  readonly outcome?: Outcome;
  readonly closeReason?: string;
  readonly closedAt?: string;
  readonly followUps: number;
  /** The latest win probability (0–100) the seller gave; absent means "use the stage's default". */
  readonly winProbability?: number;
}

export type DealState = NoDeal | Deal;

export const initialDealState: DealState = { exists: false };

/** Folds one event into the state. Events are facts: evolve never refuses. */
export function evolve(state: DealState, event: DealEvent): DealState {
  if (event.type === 'LeadCaptured') {
    const { estimatedValue, ...rest } = event.data;
    return {
      exists: true,
      ...rest,
      stage: 'lead',
      value: estimatedValue,
      capturedAt: event.occurredAt,
      lastOccurredAt: event.occurredAt,
      proposals: 0,
      negotiationRounds: 0,
      followUps: 0,
    };
  }
  if (!state.exists) return state;
  const deal: Deal = { ...state, lastOccurredAt: event.occurredAt };
  switch (event.type) {
    case 'Qualified':
      return { ...deal, stage: 'qualified', qualification: event.data };
    case 'ProposalSent':
      return {
        ...deal,
        stage: 'proposal',
        value: event.data.amount,
        proposals: event.data.revision,
        latestProposalAt: event.occurredAt,
        winProbability: event.data.winProbability ?? deal.winProbability,
      };
    case 'Negotiated':
      return {
        ...deal,
        stage: 'negotiation',
        value: event.data.counterAmount ?? deal.value,
        negotiationRounds: event.data.round,
        winProbability: event.data.winProbability ?? deal.winProbability,
      };
    case 'Closed':
      return {
        ...deal,
        stage: event.data.outcome,
        value: event.data.finalAmount ?? deal.value,
        outcome: event.data.outcome,
        closeReason: event.data.reason,
        closedAt: event.occurredAt,
      };
    case 'FollowedUp':
      return { ...deal, followUps: deal.followUps + 1 };
    default:
      return assertNever(event);
  }
}

export function fold(events: Iterable<DealEvent>, state: DealState = initialDealState): DealState {
  let current = state;
  for (const event of events) current = evolve(current, event);
  return current;
}

export function assertNever(value: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`);
}
