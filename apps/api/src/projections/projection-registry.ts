import type { AppConfig } from '@deals/platform';
import type { Projection } from '@deals/projections';
import { auditProjection } from '../audit/audit-library';
import { analyticsProjection } from '../analytics/analytics-library';
import { pipelineProjection } from '../pipeline/pipeline-library';

/** Every projection the service keeps up to date; each runs from its own checkpoint. */
export function allProjections(_config: AppConfig): Projection[] {
  return [
    pipelineProjection,
    analyticsProjection,
    auditProjection,
  ];
}
