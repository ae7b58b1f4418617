import type { Deal } from '@deals/domain';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DealRepository } from '../deal-repository';

export interface DealView {
  readonly dealId: string;
  readonly stage: Deal['stage'];
  readonly version: number;
  readonly title: string;
  readonly organization: string;
  readonly contact: Deal['contact'];
  readonly owner: string;
  readonly source: string;
  readonly value: Deal['value'];
  readonly capturedAt: string;
  readonly lastActivityAt: string;
  readonly qualification: Deal['qualification'] | null;
  readonly proposals: number;
  readonly negotiationRounds: number;
  readonly outcome: Deal['outcome'] | null;
  readonly closeReason: string | null;
  readonly closedAt: string | null;
  readonly followUps: number;
  readonly winProbability: number | null;
}

export class GetDealQuery extends Query<DealView | undefined> {
  constructor(readonly dealId: string) {
    super();
  }
}

/** Reads the deal from its own stream, so the answer is never behind the write side. */
@QueryHandler(GetDealQuery)
export class GetDealHandler implements IQueryHandler<GetDealQuery, DealView | undefined> {
  constructor(private readonly deals: DealRepository) {}

  async execute({ dealId }: GetDealQuery): Promise<DealView | undefined> {
    const { state, version } = await this.deals.refresh(dealId);
    if (!state.exists) return undefined;
    return {
      dealId,
      stage: state.stage,
      version: Number(version),
      title: state.title,
      organization: state.organization,
      contact: state.contact,
      owner: state.owner,
      source: state.source,
      value: state.value,
      capturedAt: state.capturedAt,
      lastActivityAt: state.lastOccurredAt,
      qualification: state.qualification ?? null,
      proposals: state.proposals,
      negotiationRounds: state.negotiationRounds,
      outcome: state.outcome ?? null,
      closeReason: state.closeReason ?? null,
      closedAt: state.closedAt ?? null,
      followUps: state.followUps,
      winProbability: state.winProbability ?? null,
    };
  }
}
