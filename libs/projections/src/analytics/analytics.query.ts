import type { ReadModelStore } from '@deals/read-models';
import { analyticsDealCollection } from './analytics.projection';
import { type Basis, type CycleAnalytics, createCycleAnalytics, type GroupBy } from './cycle-metrics';
import type { DealTimeline } from './deal-timeline';

export interface CycleLengthRequest {
  readonly basis: Basis;
  readonly groupBy?: GroupBy | undefined;
  /** Inclusive. */
  readonly from?: Date | undefined;
  /** Exclusive. */
  readonly to?: Date | undefined;
  /** Defaults to now. */
  readonly asOf?: Date | undefined;
}

export interface CycleLengthView extends CycleAnalytics {
  readonly basis: Basis;
  readonly groupBy: GroupBy | null;
  readonly from: string | null;
  readonly to: string | null;
  readonly asOf: string;
}

/** Timelines per scan page: enough to amortise a round trip, small enough to keep memory flat. */
const pageSize = 1_000;

/**
 * The read side of GET /analytics/cycle-length. It scans every timeline, page by page, and folds
 * each into the running figures, keeping only a few numbers per deal (durations for the
 * percentiles), never the documents. A full scan per request is knowingly simple for now: asOf,
 * cohort/period and grouping are all free parameters, so there is no single precomputed answer;
 * a later performance issue can add per-month pre-aggregates for the common questions.
 */
export async function queryCycleLength(store: ReadModelStore, request: CycleLengthRequest, now: Date): Promise<CycleLengthView> {
  const asOf = request.asOf ?? now;
  const analytics = createCycleAnalytics({
    basis: request.basis,
    asOf: asOf.getTime(),
    from: request.from?.getTime(),
    to: request.to?.getTime(),
    groupBy: request.groupBy,
  });
  for await (const { document } of store.scan(analyticsDealCollection, { pageSize })) {
    analytics.add(document as unknown as DealTimeline);
  }
  return {
    basis: request.basis,
    groupBy: request.groupBy ?? null,
    from: request.from?.toISOString() ?? null,
    to: request.to?.toISOString() ?? null,
    asOf: asOf.toISOString(),
    ...analytics.result(),
  };
}
