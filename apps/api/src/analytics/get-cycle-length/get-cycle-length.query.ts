import { type AppConfig, Clock } from '@deals/platform';
import type { ReadModelStore } from '@deals/read-models';
import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { APP_CONFIG, READ_MODEL_STORE } from '../../infrastructure/tokens';
import { type ProjectionLag, projectionLag } from '../../projections/projection-lag';
import { ProjectionStatusService } from '../../projections/projection-status.service';
import { AnalyticsMemo, analyticsProjectionName, type CycleLengthRequest, type CycleLengthView, queryCycleLength } from '@deals/projections';

export interface CycleLengthAnswer extends CycleLengthView {
  readonly projection: ProjectionLag;
}

export class GetCycleLengthQuery extends Query<CycleLengthAnswer> {
  constructor(readonly request: CycleLengthRequest) {
    super();
  }
}

@QueryHandler(GetCycleLengthQuery)
export class GetCycleLengthHandler implements IQueryHandler<GetCycleLengthQuery, CycleLengthAnswer> {
  /** Dashboards ask the same questions over and over; answers hold until the projection commits again. */
  private readonly memo: AnalyticsMemo;

  constructor(
    @Inject(READ_MODEL_STORE) private readonly store: ReadModelStore,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly clock: Clock,
    private readonly projections: ProjectionStatusService,
  ) {
    this.memo = new AnalyticsMemo({ residentCapacity: config.analyticsResidentDeals });
  }

  async execute({ request }: GetCycleLengthQuery): Promise<CycleLengthAnswer> {
    const projection = await projectionLag(this.projections, analyticsProjectionName);
    const view = await queryCycleLength(this.store, request, this.clock.now(), this.memo);
    return { ...view, projection };
  }
}
