import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DealRepository } from '../deal-repository';

export interface HistoryEntry {
  readonly version: number;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly actor: string;
  readonly commandId: string;
  readonly correlationId: string;
  readonly causationId: string;
  readonly data: unknown;
}

export interface DealHistory {
  readonly dealId: string;
  readonly entries: readonly HistoryEntry[];
}

export class GetDealHistoryQuery extends Query<DealHistory | undefined> {
  constructor(readonly dealId: string) {
    super();
  }
}

/** Every change to one deal, oldest first, straight from its stream. */
@QueryHandler(GetDealHistoryQuery)
export class GetDealHistoryHandler implements IQueryHandler<GetDealHistoryQuery, DealHistory | undefined> {
  constructor(private readonly deals: DealRepository) {}

  async execute({ dealId }: GetDealHistoryQuery): Promise<DealHistory | undefined> {
    const events = await this.deals.history(dealId);
    if (events.length === 0) return undefined;
    return {
      dealId,
      entries: events.map(({ eventId, revision, event, metadata }) => ({
        version: Number(revision),
        eventId,
        type: event.type,
        schemaVersion: metadata.schemaVersion,
        occurredAt: metadata.occurredAt,
        recordedAt: metadata.recordedAt,
        actor: metadata.actor,
        commandId: metadata.commandId,
        correlationId: metadata.correlationId,
        causationId: metadata.causationId,
        data: event.data,
      })),
    };
  }
}
