import { type OpenStage, openStages } from '@deals/domain';
import { type DealTimeline, timelineAt } from './deal-timeline';

/**
 * The cycle-length analytics, as pure functions over deal timelines. Every definition here is
 * written out in docs/analytics.md and pinned by cycle-metrics.unit.spec.ts on a hand-computed
 * fixture. No clock: `asOf` is always passed in.
 */

/** The order conversion follows. Lost is an exit, not a step. */
export const funnelStages = ['lead', 'qualified', 'proposal', 'negotiation', 'won'] as const;
export type FunnelStage = (typeof funnelStages)[number];

export const bases = ['cohort', 'period'] as const;
/** cohort: deals captured in the window, followed up to asOf. period: what happened in the window. */
export type Basis = (typeof bases)[number];

export const groupings = ['owner', 'source', 'month'] as const;
export type GroupBy = (typeof groupings)[number];

export interface AnalyticsOptions {
  readonly basis: Basis;
  /** Inclusive, epoch ms; open when absent. */
  readonly from?: number | undefined;
  /** Exclusive, epoch ms; open when absent. */
  readonly to?: number | undefined;
  /** Inclusive, epoch ms: only events with occurredAt ≤ asOf exist. */
  readonly asOf: number;
  readonly groupBy?: GroupBy | undefined;
}

export interface DurationStats {
  readonly count: number;
  readonly meanDays: number | null;
  readonly medianDays: number | null;
  readonly p90Days: number | null;
}

export interface StageMetrics {
  readonly stage: FunnelStage;
  /** Deals that reached this stage or a later one (in the window, for period basis). */
  readonly reached: number;
  readonly conversion: {
    readonly next: FunnelStage | null;
    /** Share of `reached` that went on to reach the next stage (or a later one). */
    readonly nextStep: number | null;
    /** From lead to this stage: the product of the next-step rates before it. */
    readonly cumulative: number | null;
  };
  /** Open stages only; over deals that have left the stage (completed stints). */
  readonly timeInStage: {
    readonly cumulative: DurationStats;
    readonly latestStint: DurationStats;
    /** Deals still in the stage at the horizon, left out of the two figures above. */
    readonly stillInStage: number;
  } | null;
}

export interface Velocity {
  readonly openDeals: number;
  readonly averageWonValue: number | null;
  readonly winRate: number | null;
  readonly averageCycleDays: number | null;
  /** openDeals × averageWonValue × winRate ÷ averageCycleDays: value expected to close per day. */
  readonly perDay: number | null;
}

export interface CycleMetrics {
  readonly won: number;
  readonly lost: number;
  readonly open: number;
  readonly winRate: { readonly byCount: number | null; readonly byValue: Readonly<Record<string, number | null>> };
  readonly cycleLength: DurationStats;
  readonly stages: readonly StageMetrics[];
  readonly velocity: Readonly<Record<string, Velocity>>;
}

export interface GroupMetrics extends CycleMetrics {
  readonly key: string;
}

export interface CycleAnalytics extends CycleMetrics {
  readonly groups: readonly GroupMetrics[];
}

export const dayMs = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Small definitions, each usable on its own.

/** Linear interpolation between closest ranks (numpy's default, Excel PERCENTILE.INC), p in 0..1. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of no values');
  const rank = (sorted.length - 1) * p;
  const below = Math.floor(rank);
  const lower = sorted[below]!;
  const upper = sorted[Math.min(below + 1, sorted.length - 1)]!;
  return lower + (rank - below) * (upper - lower);
}

export function durationStats(durationsMs: readonly number[]): DurationStats {
  if (durationsMs.length === 0) return { count: 0, meanDays: null, medianDays: null, p90Days: null };
  const days = durationsMs.map((ms) => ms / dayMs).sort((a, b) => a - b);
  const mean = days.reduce((sum, value) => sum + value, 0) / days.length;
  return { count: days.length, meanDays: roundDays(mean), medianDays: roundDays(percentile(days, 0.5)), p90Days: roundDays(percentile(days, 0.9)) };
}

const rank = (stage: FunnelStage): number => funnelStages.indexOf(stage);

/**
 * When the deal first reached `stage` or a later one in lead → qualified → proposal →
 * negotiation → won; undefined if it never did. A deal won straight from proposal never entered
 * negotiation, but it got past it: it reached negotiation-or-later when it was won.
 */
export function reachedAt(deal: DealTimeline, stage: FunnelStage): number | undefined {
  if (stage !== 'won') {
    const minimum = rank(stage);
    for (const stint of deal.stints) if (rank(stint.stage) >= minimum) return stint.enteredAt;
  }
  return deal.outcome === 'won' ? (deal.closedAt ?? undefined) : undefined;
}

/** Time in one stage, for a deal that has left it: all stints added up, and its latest stint. */
export function timeInStage(deal: DealTimeline, stage: OpenStage): { readonly cumulativeMs: number; readonly latestStintMs: number; readonly leftAt: number } | 'in stage' | undefined {
  let cumulativeMs = 0;
  let latest: DealTimeline['stints'][number] | undefined;
  for (const stint of deal.stints) {
    if (stint.stage !== stage) continue;
    if (stint.leftAt === null) return 'in stage';
    cumulativeMs += stint.leftAt - stint.enteredAt;
    latest = stint;
  }
  if (latest === undefined || latest.leftAt === null) return undefined;
  return { cumulativeMs, latestStintMs: latest.leftAt - latest.enteredAt, leftAt: latest.leftAt };
}

export function groupKey(deal: DealTimeline, groupBy: GroupBy): string {
  switch (groupBy) {
    case 'owner':
      return deal.owner;
    case 'source':
      return deal.source;
    case 'month':
      // Capture month in UTC, e.g. 2025-06.
      return new Date(deal.capturedAt).toISOString().slice(0, 7);
    default:
      throw new Error(`Unknown grouping ${JSON.stringify(groupBy satisfies never)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Streaming: add timelines one at a time (the query scans them), then read the result.

interface CurrencySums {
  open: number;
  won: number;
  lost: number;
  wonValue: number;
  lostValue: number;
  wonCycleMs: number;
}

class Accumulator {
  won = 0;
  lost = 0;
  open = 0;
  readonly cycleMs: number[] = [];
  readonly reached = new Map<FunnelStage, number>();
  readonly convertedToNext = new Map<FunnelStage, number>();
  readonly cumulativeMs = new Map<OpenStage, number[]>(openStages.map((stage) => [stage, []]));
  readonly latestStintMs = new Map<OpenStage, number[]>(openStages.map((stage) => [stage, []]));
  readonly stillInStage = new Map<OpenStage, number>();
  readonly currencies = new Map<string, CurrencySums>();

  currency(code: string): CurrencySums {
    let sums = this.currencies.get(code);
    if (!sums) {
      sums = { open: 0, won: 0, lost: 0, wonValue: 0, lostValue: 0, wonCycleMs: 0 };
      this.currencies.set(code, sums);
    }
    return sums;
  }

  result(): CycleMetrics {
    const closed = this.won + this.lost;
    const byValue: Record<string, number | null> = {};
    const velocity: Record<string, Velocity> = {};
    for (const code of [...this.currencies.keys()].sort()) {
      const sums = this.currencies.get(code)!;
      byValue[code] = sums.wonValue + sums.lostValue > 0 ? roundRate(sums.wonValue / (sums.wonValue + sums.lostValue)) : null;
      const averageWonValue = sums.won > 0 ? sums.wonValue / sums.won : null;
      const winRate = sums.won + sums.lost > 0 ? sums.won / (sums.won + sums.lost) : null;
      const averageCycleDays = sums.won > 0 ? sums.wonCycleMs / sums.won / dayMs : null;
      velocity[code] = {
        openDeals: sums.open,
        averageWonValue: averageWonValue === null ? null : roundMoney(averageWonValue),
        winRate: winRate === null ? null : roundRate(winRate),
        averageCycleDays: averageCycleDays === null ? null : roundDays(averageCycleDays),
        perDay:
          averageWonValue === null || winRate === null || averageCycleDays === null || averageCycleDays === 0
            ? null
            : roundMoney((sums.open * averageWonValue * winRate) / averageCycleDays),
      };
    }
    // Every lead is a lead (cumulative 1), unless there is none to speak of.
    let cumulative: number | null = (this.reached.get('lead') ?? 0) > 0 ? 1 : null;
    const stages = funnelStages.map((stage, index): StageMetrics => {
      const next = funnelStages[index + 1] ?? null;
      const reached = this.reached.get(stage) ?? 0;
      const nextStep = next === null || reached === 0 ? null : (this.convertedToNext.get(stage) ?? 0) / reached;
      const stageCumulative = cumulative;
      cumulative = cumulative === null || nextStep === null ? null : cumulative * nextStep;
      const open = (openStages as readonly string[]).includes(stage) ? (stage as OpenStage) : undefined;
      return {
        stage,
        reached,
        conversion: {
          next,
          nextStep: nextStep === null ? null : roundRate(nextStep),
          cumulative: stageCumulative === null ? null : roundRate(stageCumulative),
        },
        timeInStage:
          open === undefined
            ? null
            : {
                cumulative: durationStats(this.cumulativeMs.get(open)!),
                latestStint: durationStats(this.latestStintMs.get(open)!),
                stillInStage: this.stillInStage.get(open) ?? 0,
              },
      };
    });
    return {
      won: this.won,
      lost: this.lost,
      open: this.open,
      winRate: { byCount: closed > 0 ? roundRate(this.won / closed) : null, byValue },
      cycleLength: durationStats(this.cycleMs),
      stages,
      velocity,
    };
  }
}

export interface CycleAnalyticsBuilder {
  add(timeline: DealTimeline): void;
  result(): CycleAnalytics;
}

export function createCycleAnalytics(options: AnalyticsOptions): CycleAnalyticsBuilder {
  const from = options.from ?? -Infinity;
  const to = options.to ?? Infinity;
  // Cohort deals are followed up to asOf; a period is seen as it stood at its own end.
  const horizon = options.basis === 'cohort' ? options.asOf : Math.min(options.asOf, to - 1);
  const inWindow = (time: number): boolean => time >= from && time < to && time <= horizon;
  // In cohort basis the deal was selected by its capture; everything up to the horizon counts.
  const counts = options.basis === 'cohort' ? (): boolean => true : inWindow;
  const overall = new Accumulator();
  const groups = new Map<string, Accumulator>();

  function addTo(target: Accumulator, deal: DealTimeline): void {
    const value = deal.values.at(-1);
    if (deal.outcome === null) {
      target.open++;
      if (value) target.currency(value.currency).open++;
    } else if (deal.closedAt !== null && counts(deal.closedAt)) {
      const sums = value ? target.currency(value.currency) : undefined;
      if (deal.outcome === 'won') {
        const cycle = deal.closedAt - deal.capturedAt;
        target.won++;
        target.cycleMs.push(cycle);
        if (sums && value) {
          sums.won++;
          sums.wonValue += value.amount;
          sums.wonCycleMs += cycle;
        }
      } else {
        target.lost++;
        if (sums && value) {
          sums.lost++;
          sums.lostValue += value.amount;
        }
      }
    }
    for (let index = 0; index < funnelStages.length; index++) {
      const stage = funnelStages[index]!;
      const reached = reachedAt(deal, stage);
      if (reached === undefined || !counts(reached)) continue;
      target.reached.set(stage, (target.reached.get(stage) ?? 0) + 1);
      const next = funnelStages[index + 1];
      if (next !== undefined && reachedAt(deal, next) !== undefined) {
        target.convertedToNext.set(stage, (target.convertedToNext.get(stage) ?? 0) + 1);
      }
    }
    for (const stage of openStages) {
      const time = timeInStage(deal, stage);
      if (time === undefined) continue;
      if (time === 'in stage') {
        target.stillInStage.set(stage, (target.stillInStage.get(stage) ?? 0) + 1);
      } else if (counts(time.leftAt)) {
        target.cumulativeMs.get(stage)!.push(time.cumulativeMs);
        target.latestStintMs.get(stage)!.push(time.latestStintMs);
      }
    }
  }

  return {
    add(timeline: DealTimeline): void {
      const deal = timelineAt(timeline, horizon);
      if (deal === undefined) return;
      if (options.basis === 'cohort' && !inWindow(deal.capturedAt)) return;
      addTo(overall, deal);
      if (options.groupBy !== undefined) {
        const key = groupKey(deal, options.groupBy);
        let group = groups.get(key);
        if (!group) {
          group = new Accumulator();
          groups.set(key, group);
        }
        addTo(group, deal);
      }
    },
    result(): CycleAnalytics {
      return {
        ...overall.result(),
        groups: [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, group]) => ({ key, ...group.result() })),
      };
    },
  };
}

export function computeCycleAnalytics(timelines: Iterable<DealTimeline>, options: AnalyticsOptions): CycleAnalytics {
  const builder = createCycleAnalytics(options);
  for (const timeline of timelines) builder.add(timeline);
  return builder.result();
}

/** Days to 2 decimals, rates to 4, money to 2: enough to read, stable to compare. */
function roundDays(value: number): number {
  return Math.round(value * 100) / 100;
}
function roundRate(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
function roundMoney(value: number): number {
  return Math.round(value * 100) / 100;
}
