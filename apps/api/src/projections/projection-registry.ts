import type { AppConfig } from '@deals/platform';
import { analyticsProjection, auditProjection, pipelineProjection, type Projection } from '@deals/projections';

/** Every projection the service keeps up to date; each runs from its own checkpoint. */
export function allProjections(_config: AppConfig): Projection[] {
  return [
    pipelineProjection,
    analyticsProjection,
    auditProjection,
  ];
}
