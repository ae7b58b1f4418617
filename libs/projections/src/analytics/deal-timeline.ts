import type { OpenStage, Outcome } from '@deals/domain';

/**
 * One deal's life in business time (epoch ms of each event's `occurredAt`), as stored in the
 * `analytics:deal` collection. Every analytics figure is computed from these timelines, so asOf,
 * cohort or period and any grouping need no other state.
 */
export interface StageStint {
  readonly stage: OpenStage;
  readonly enteredAt: number;
  /** Null while the deal is still in the stage. */
  readonly leftAt: number | null;
}

export interface ValueChange {
  readonly at: number;
  readonly amount: number;
  readonly currency: string;
}

export interface DealTimeline {
  readonly dealId: string;
  readonly owner: string;
  readonly source: string;
  readonly capturedAt: number;
  /** In time order; a stage re-entered (proposal ⇄ negotiation) has several stints. */
  readonly stints: readonly StageStint[];
  readonly outcome: Outcome | null;
  readonly closedAt: number | null;
  /** Each change of the deal's figure (estimate, proposals, counter amounts, final amount), in time order. */
  readonly values: readonly ValueChange[];
  /** Stream revision of the latest event applied. */
  readonly revision: number;
}

/**
 * The timeline as it stood at `horizon` (inclusive): only events with occurredAt ≤ horizon.
 * Undefined for a deal captured after it.
 */
export function timelineAt(timeline: DealTimeline, horizon: number): DealTimeline | undefined {
  if (timeline.capturedAt > horizon) return undefined;
  // The common case for old deals: nothing after the horizon, nothing to copy.
  if (latestTime(timeline) <= horizon) return timeline;
  const closed = timeline.closedAt !== null && timeline.closedAt <= horizon;
  const stints: StageStint[] = [];
  for (let index = 0; index < timeline.stints.length; index++) {
    const stint = timeline.stints[index]!;
    if (stint.enteredAt > horizon) break;
    stints.push(stint.leftAt !== null && stint.leftAt > horizon ? { ...stint, leftAt: null } : stint);
  }
  return {
    ...timeline,
    stints,
    outcome: closed ? timeline.outcome : null,
    closedAt: closed ? timeline.closedAt : null,
    values: timeline.values.filter((change) => change.at <= horizon),
  };
}

/** Business time of the latest change in the timeline: at or after it, timelineAt changes nothing. */
export function latestTime(timeline: DealTimeline): number {
  const last = timeline.stints.at(-1);
  return Math.max(timeline.capturedAt, last?.enteredAt ?? -Infinity, last?.leftAt ?? -Infinity, timeline.closedAt ?? -Infinity, timeline.values.at(-1)?.at ?? -Infinity);
}

/** Whether anything happened to the deal in (after, until]: only then do its timelines cut at the two differ. */
export function changedIn(timeline: DealTimeline, after: number, until: number): boolean {
  // Loops, not closures: a correction asks it of a few thousand deals.
  if (within(timeline.capturedAt, after, until) || within(timeline.closedAt, after, until)) return true;
  for (let index = 0; index < timeline.stints.length; index++) {
    const stint = timeline.stints[index]!;
    if (within(stint.enteredAt, after, until) || within(stint.leftAt, after, until)) return true;
  }
  for (let index = 0; index < timeline.values.length; index++) if (within(timeline.values[index]!.at, after, until)) return true;
  return false;
}

function within(time: number | null, after: number, until: number): boolean {
  return time !== null && time > after && time <= until;
}
