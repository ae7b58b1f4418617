import { bases, funnelStages, groupings } from '@deals/projections';
import type { SchemaObject } from '@nestjs/swagger';
import { byCurrency, exactObject, integer, isoTime, nullable, number } from '../../http/answer-schema';
import { projectionLagSchema } from '../../projections/projection-lag.schema';

const durationStats = exactObject({ count: integer, meanDays: nullable(number), medianDays: nullable(number), p90Days: nullable(number) });
const funnelStage: SchemaObject = { type: 'string', enum: [...funnelStages] };

/** CycleMetrics: the figures of every deal counted, or of one group's. docs/analytics.md defines each. */
const metrics = {
  won: integer,
  lost: integer,
  open: integer,
  winRate: exactObject({ byCount: nullable(number), byValue: byCurrency(nullable(number)) }),
  cycleLength: durationStats,
  stages: {
    type: 'array',
    items: exactObject({
      stage: funnelStage,
      reached: integer,
      conversion: exactObject({ next: nullable(funnelStage), nextStep: nullable(number), cumulative: nullable(number) }),
      timeInStage: nullable(exactObject({ cumulative: durationStats, latestStint: durationStats, stillInStage: integer })),
    }),
  },
  velocity: byCurrency(exactObject({ openDeals: integer, averageWonValue: nullable(number), winRate: nullable(number), averageCycleDays: nullable(number), perDay: nullable(number) })),
} satisfies Record<string, SchemaObject>;

/** CycleLengthAnswer: the question as understood, the figures, one entry per group, and the projection's lag. */
export const cycleLengthSchema = exactObject({
  basis: { type: 'string', enum: [...bases] },
  groupBy: nullable({ type: 'string', enum: [...groupings] }),
  from: nullable(isoTime),
  to: nullable(isoTime),
  asOf: isoTime,
  ...metrics,
  groups: { type: 'array', items: exactObject({ key: { type: 'string' }, ...metrics }) },
  projection: projectionLagSchema,
});
