import type { StoredDealEvent } from '@deals/deal-streams';
import { type EventStore, parsePosition } from '@deals/event-store';
import { type Projection, ProjectionRunner } from '@deals/projections';
import type { ReadModelStore } from '@deals/read-models';
import type { OutputStream } from './cli-io';
import { count, duration, ProgressReporter } from './progress';

export interface RebuildResult {
  readonly projection: string;
  /** Every event read, kept or not: the checkpoint's count. */
  readonly eventsProcessed: number;
  /** The events the filter kept (a replay's events up to its date); all of them without a filter. */
  readonly eventsKept: number;
  readonly seconds: number;
}

/**
 * Resets one projection in `store` and rebuilds it from the first event (only the events `filter`
 * keeps, for a replay), drawing progress on `progressStream`. Answers a one-line summary.
 */
export async function rebuildProjection(
  eventStore: EventStore,
  store: ReadModelStore,
  projection: Projection,
  progressStream: OutputStream,
  options: { readonly label?: string; readonly filter?: (event: StoredDealEvent) => boolean } = {},
): Promise<RebuildResult> {
  let kept = 0;
  const { filter } = options;
  const counting = filter === undefined ? undefined : (event: StoredDealEvent) => filter(event) && ++kept > 0;
  const runner = new ProjectionRunner(eventStore, store, projection, counting ? { filter: counting } : {});
  const progress = new ProgressReporter(progressStream, options.label ?? projection.name);
  const started = performance.now();
  try {
    await runner.rebuild((step) =>
      progress.update({
        processed: step.eventsProcessed,
        total: step.eventsProcessed + remainingEvents(step.position, step.headPosition),
        perSecond: step.eventsPerSecond,
        etaSeconds: step.etaSeconds ?? undefined,
      }),
    );
  } finally {
    progress.clear();
  }
  const checkpoint = await store.checkpoint(projection.name);
  const eventsProcessed = checkpoint?.eventsProcessed ?? 0;
  return { projection: projection.name, eventsProcessed, eventsKept: counting ? kept : eventsProcessed, seconds: (performance.now() - started) / 1000 };
}

/**
 * Events between the checkpoint and the head: the difference of commit positions, exact for the
 * embedded store (its positions number its events), an estimate for EventStoreDB (log offsets).
 */
function remainingEvents(position: string, head: string | null): number {
  return head === null ? 0 : Math.max(0, Number(parsePosition(head).commit - parsePosition(position).commit));
}

export function describeRebuild(result: RebuildResult): string {
  const rate = result.seconds > 0 ? ` (${count(Math.round(result.eventsProcessed / result.seconds))} events/s)` : '';
  const events =
    result.eventsKept === result.eventsProcessed
      ? `${count(result.eventsProcessed)} events`
      : `${count(result.eventsKept)} of ${count(result.eventsProcessed)} events`;
  return `${result.projection}: ${events} in ${duration(result.seconds)}${rate}`;
}
