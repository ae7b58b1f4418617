import { resolveMoney } from '../money';
import type {
  CaptureLead,
  CloseDeal,
  DealCommand,
  NegotiateDeal,
  QualifyDeal,
  RecordFollowUp,
  SendProposal,
} from './deal-commands';
import type { DealEvent } from './deal-events';
import { DealRefused } from './deal-refusal';
import { assertNever, type Deal, type DealState } from './deal-state';
import { isOpen } from './stage';

export interface DecisionContext {
  /** The current time; business time may not lie after it. */
  readonly now: Date;
}

/**
 * Decides which events a command produces against the deal's current state, or refuses it
 * with a DealRefused carrying a stable code. Pure: no I/O, no clock but the one passed in.
 */
export function decide(command: DealCommand, state: DealState, context: DecisionContext): DealEvent[] {
  checkBusinessTime(command, state, context);
  if (command.type === 'CaptureLead') return captureLead(command, state);
  if (!state.exists) throw new DealRefused('DEAL_NOT_FOUND', 'No deal with this id has been captured');
  switch (command.type) {
    case 'QualifyDeal':
      return qualify(command, state);
    case 'SendProposal':
      return sendProposal(command, state);
    case 'NegotiateDeal':
      return negotiate(command, state);
    case 'CloseDeal':
      return close(command, state);
    case 'RecordFollowUp':
      return followUp(command, state);
    default:
      return assertNever(command);
  }
}

function checkBusinessTime(command: DealCommand, state: DealState, { now }: DecisionContext): void {
  const occurredAt = Date.parse(command.occurredAt);
  if (occurredAt > now.getTime()) {
    throw new DealRefused('OCCURRED_IN_FUTURE', 'occurredAt may not lie in the future', {
      occurredAt: command.occurredAt,
      now: now.toISOString(),
    });
  }
  // A second capture is refused as DEAL_ALREADY_EXISTS whatever its time (a re-import sends the original one).
  if (state.exists && command.type !== 'CaptureLead' && occurredAt < Date.parse(state.lastOccurredAt)) {
    throw new DealRefused(
      'OCCURRED_BEFORE_PREVIOUS_EVENT',
      "occurredAt may not lie before the deal's previous event",
      { occurredAt: command.occurredAt, previousEventOccurredAt: state.lastOccurredAt },
    );
  }
}

function captureLead(command: CaptureLead, state: DealState): DealEvent[] {
  if (state.exists) throw new DealRefused('DEAL_ALREADY_EXISTS', 'A lead is captured once per deal');
  return [{ type: 'LeadCaptured', data: command.data, occurredAt: command.occurredAt }];
}

function requireOpen(deal: Deal, action: string): void {
  if (!isOpen(deal.stage)) {
    throw new DealRefused('DEAL_CLOSED', `A closed deal takes no stage change, only follow-ups: cannot ${action}`, {
      stage: deal.stage,
    });
  }
}

function qualify(command: QualifyDeal, deal: Deal): DealEvent[] {
  requireOpen(deal, 'qualify');
  if (deal.stage !== 'lead' && deal.stage !== 'qualified') {
    throw new DealRefused(
      'ALREADY_PAST_QUALIFICATION',
      'Qualification happens before a proposal; this deal already has one',
      { stage: deal.stage },
    );
  }
  return [{ type: 'Qualified', data: command.data, occurredAt: command.occurredAt }];
}

function sendProposal(command: SendProposal, deal: Deal): DealEvent[] {
  requireOpen(deal, 'send a proposal');
  if (deal.stage === 'lead') {
    throw new DealRefused('NOT_QUALIFIED', 'A deal must be qualified before a proposal is sent', { stage: deal.stage });
  }
  if (Date.parse(command.data.validUntil) < Date.parse(command.occurredAt)) {
    throw new DealRefused('VALID_UNTIL_BEFORE_PROPOSAL', 'validUntil may not lie before the proposal is sent', {
      validUntil: command.data.validUntil,
      occurredAt: command.occurredAt,
    });
  }
  const { terms, winProbability, ...rest } = command.data;
  return [
    {
      type: 'ProposalSent',
      data: {
        revision: deal.proposals + 1,
        ...rest,
        ...(terms === undefined ? {} : { terms }),
        ...(winProbability === undefined ? {} : { winProbability }),
      },
      occurredAt: command.occurredAt,
    },
  ];
}

function negotiate(command: NegotiateDeal, deal: Deal): DealEvent[] {
  requireOpen(deal, 'negotiate');
  if (deal.stage !== 'proposal' && deal.stage !== 'negotiation') {
    throw new DealRefused('NO_PROPOSAL', 'Negotiation starts from a proposal; send one first', { stage: deal.stage });
  }
  const { counterAmount, discountPercent, objections, notes, winProbability } = command.data;
  if (counterAmount === undefined && discountPercent === undefined && !objections?.length && !notes) {
    throw new DealRefused(
      'EMPTY_NEGOTIATION_ROUND',
      'A negotiation round records at least one of counterAmount, discountPercent, objections or notes',
    );
  }
  return [
    {
      type: 'Negotiated',
      data: {
        round: deal.negotiationRounds + 1,
        ...(counterAmount === undefined ? {} : { counterAmount: resolveMoney(counterAmount, deal.value.currency) }),
        ...(discountPercent === undefined ? {} : { discountPercent }),
        objections: objections ?? [],
        ...(notes === undefined ? {} : { notes }),
        ...(winProbability === undefined ? {} : { winProbability }),
      },
      occurredAt: command.occurredAt,
    },
  ];
}

function close(command: CloseDeal, deal: Deal): DealEvent[] {
  requireOpen(deal, 'close');
  const { outcome, finalAmount, reason } = command.data;
  if (outcome === 'won') {
    if (deal.stage !== 'proposal' && deal.stage !== 'negotiation') {
      throw new DealRefused('NO_PROPOSAL', 'A deal is won on a proposal; send one first', { stage: deal.stage });
    }
    if (finalAmount === undefined) {
      throw new DealRefused('FINAL_AMOUNT_REQUIRED', 'finalAmount is required when the deal is won');
    }
  }
  return [
    {
      type: 'Closed',
      data: {
        outcome,
        ...(finalAmount === undefined ? {} : { finalAmount: resolveMoney(finalAmount, deal.value.currency) }),
        reason,
      },
      occurredAt: command.occurredAt,
    },
  ];
}

function followUp(command: RecordFollowUp, deal: Deal): DealEvent[] {
  if (isOpen(deal.stage)) {
    throw new DealRefused('DEAL_NOT_CLOSED', 'Follow-ups happen after the deal is closed', { stage: deal.stage });
  }
  return [{ type: 'FollowedUp', data: command.data, occurredAt: command.occurredAt }];
}
