import { type AppConfig, Clock } from '@deals/platform';
import type { ReadModelStore } from '@deals/read-models';
import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { invalidField } from '../../http/api-error';
import { APP_CONFIG, READ_MODEL_STORE } from '../../infrastructure/tokens';
import { ProjectionStatusService } from '../../projections/projection-status.service';
import { InvalidCursorError, PipelineMemo, type PipelineRequest, type PipelineView, pipelineProjectionName, queryPipeline } from '@deals/projections';
import { type ProjectionLag, projectionLag } from '../../projections/projection-lag';

export interface PipelineAnswer extends PipelineView {
  readonly projection: ProjectionLag;
}

export class GetPipelineQuery extends Query<PipelineAnswer> {
  constructor(readonly request: PipelineRequest) {
    super();
  }
}

/** Totals from precomputed counters, the list from activity indexes; stage probabilities and rotting limits from the configuration. */
@QueryHandler(GetPipelineQuery)
export class GetPipelineHandler implements IQueryHandler<GetPipelineQuery, PipelineAnswer> {
  /** Answers kept until the projection's next commit or the next deal to rot. */
  private readonly memo = new PipelineMemo();

  constructor(
    @Inject(READ_MODEL_STORE) private readonly store: ReadModelStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly projections: ProjectionStatusService,
  ) {}

  async execute({ request }: GetPipelineQuery): Promise<PipelineAnswer> {
    const projection = await projectionLag(this.projections, pipelineProjectionName);
    try {
      const view = await queryPipeline(this.store, this.config, request, this.clock.now(), this.memo);
      return { ...view, projection };
    } catch (error) {
      if (error instanceof InvalidCursorError) {
        throw invalidField('cursor', error.message);
      }
      throw error;
    }
  }
}
