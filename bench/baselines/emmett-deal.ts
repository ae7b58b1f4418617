// Our Deal ported to Emmett as a user porting this service would do it: Emmett events wrap the domain's
// events, and the domain's own decide/evolve run inside Emmett's CommandHandler. The request classes
// (validation and body-to-command mapping) are the API's own, so the baselines differ from our service
// only in the infrastructure: Express instead of Nest on Fastify, Emmett's store instead of ours.
import type { Type } from '@nestjs/common';
import { type DealCommand, type DealEvent, type DealEventMap, type DealEventType, type DealState, decide, evolve } from '@deals/domain';
import { CaptureLeadRequest } from '../../apps/api/src/deals/capture-lead/capture-lead.request';
import { CloseDealRequest } from '../../apps/api/src/deals/close-deal/close-deal.request';
import type { DealCommandInput } from '../../apps/api/src/deals/execute-deal-command';
import { NegotiateDealRequest } from '../../apps/api/src/deals/negotiate-deal/negotiate-deal.request';
import { QualifyDealRequest } from '../../apps/api/src/deals/qualify-deal/qualify-deal.request';
import { RecordFollowUpRequest } from '../../apps/api/src/deals/record-follow-up/record-follow-up.request';
import { SendProposalRequest } from '../../apps/api/src/deals/send-proposal/send-proposal.request';
import { createValidationPipe } from '../../apps/api/src/http/validation';

export type EmmettDealMetadata = { readonly actor: string; readonly commandId: string; readonly correlationId: string };

/** One Emmett event per domain event type; Emmett wants plain records, so the domain's payload is wrapped. */
export type EmmettDealEvent = {
  [K in DealEventType]: {
    readonly type: K;
    readonly data: { readonly occurredAt: string; readonly payload: DealEventMap[K] };
    readonly metadata: EmmettDealMetadata;
  };
}[DealEventType];

export function toEmmettEvent(event: DealEvent, metadata: EmmettDealMetadata): EmmettDealEvent {
  // Type and payload come from the same domain event, which TypeScript cannot correlate across the union.
  return { type: event.type, data: { occurredAt: event.occurredAt, payload: event.data }, metadata } as EmmettDealEvent;
}

export function evolveEmmett(state: DealState, event: EmmettDealEvent): DealState {
  return evolve(state, { type: event.type, data: event.data.payload, occurredAt: event.data.occurredAt } as DealEvent);
}

/** What Emmett's CommandHandler runs against the deal's folded state: our decider, events wrapped for Emmett. */
export function decideEmmett(command: DealCommand, metadata: EmmettDealMetadata, now: Date): (state: DealState) => EmmettDealEvent[] {
  return (state) => decide(command, state, { now }).map((event) => toEmmettEvent(event, metadata));
}

interface CommandRequestBody {
  toCommand(): DealCommandInput;
}

export interface DealCommandRoute {
  /** The last path segment on an existing deal (`qualification`), or undefined for `POST /deals`. */
  readonly segment: string | undefined;
  readonly request: Type<CommandRequestBody>;
}

/** The command routes of the HTTP contract, with the API's request class for each. */
export const dealCommandRoutes: readonly DealCommandRoute[] = [
  { segment: undefined, request: CaptureLeadRequest },
  { segment: 'qualification', request: QualifyDealRequest },
  { segment: 'proposals', request: SendProposalRequest },
  { segment: 'negotiations', request: NegotiateDealRequest },
  { segment: 'closing', request: CloseDealRequest },
  { segment: 'follow-ups', request: RecordFollowUpRequest },
];

const validation = createValidationPipe();

/** Validates a body as the API does (throws its ApiError) and maps it to the domain command. */
export async function toDealCommand(route: DealCommandRoute, body: unknown, dealId: string, now: Date): Promise<DealCommand> {
  const request = (await validation.transform(body, { type: 'body', metatype: route.request })) as CommandRequestBody;
  const input = request.toCommand();
  const occurredAt = input.occurredAt ?? now.toISOString();
  return input.type === 'CaptureLead' ? { ...input, data: { dealId, ...input.data }, occurredAt } : { ...input, occurredAt };
}
