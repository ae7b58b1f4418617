import { type OpenStage, openStages } from '@deals/domain';
import { type DealTimeline, timelineAt } from './deal-timeline';
import { SortedDurations } from './sorted-durations';

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
  return interpolatedPercentile(sorted.length, p, (index) => sorted[index]!);
}

/** The ranks (0-based, in ascending order) whose values the median and p90 of n values need. */
export function percentileRanks(n: number): number[] {
  const ranks = new Set<number>();
  for (const p of reportedPercentiles) {
    const below = Math.floor((n - 1) * p);
    ranks.add(below).add(Math.min(below + 1, n - 1));
  }
  return [...ranks].sort((a, b) => a - b);
}

const reportedPercentiles = [0.5, 0.9] as const;

function interpolatedPercentile(n: number, p: number, valueAt: (rank: number) => number): number {
  const rank = (n - 1) * p;
  const below = Math.floor(rank);
  const lower = valueAt(below);
  const upper = valueAt(Math.min(below + 1, n - 1));
  return lower + (rank - below) * (upper - lower);
}

/**
 * Count, mean, median and p90 in days of n durations, from their exact sum in ms and the values at
 * the ranks `percentileRanks(n)` names: so a scan holding every value and a query reading only those
 * ranks from a sorted index give the same answer, to the last bit.
 */
export function durationStatsOf(n: number, sumMs: number, msAtRank: (rank: number) => number): DurationStats {
  if (n === 0) return { count: 0, meanDays: null, medianDays: null, p90Days: null };
  const daysAt = (rank: number) => msAtRank(rank) / dayMs;
  return {
    count: n,
    meanDays: roundDays(sumMs / n / dayMs),
    medianDays: roundDays(interpolatedPercentile(n, 0.5, daysAt)),
    p90Days: roundDays(interpolatedPercentile(n, 0.9, daysAt)),
  };
}

export function statsOfSorted(durations: SortedDurations): DurationStats {
  return durationStatsOf(durations.count, durations.sumMs, (rank) => durations.at(rank));
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
    // Index loops here and below: a scan runs them for every deal, and `for … of` left iterator results to collect.
    for (let index = 0; index < deal.stints.length; index++) {
      const stint = deal.stints[index]!;
      if (rank(stint.stage) >= minimum) return stint.enteredAt;
    }
  }
  return deal.outcome === 'won' ? (deal.closedAt ?? undefined) : undefined;
}

/** Time in one stage, for a deal that has left it: all stints added up, and its latest stint. */
export function timeInStage(deal: DealTimeline, stage: OpenStage): { readonly cumulativeMs: number; readonly latestStintMs: number; readonly leftAt: number } | 'in stage' | undefined {
  let cumulativeMs = 0;
  let latest: DealTimeline['stints'][number] | undefined;
  for (let index = 0; index < deal.stints.length; index++) {
    const stint = deal.stints[index]!;
    if (stint.stage !== stage) continue;
    if (stint.leftAt === null) return 'in stage';
    cumulativeMs += stint.leftAt - stint.enteredAt;
    latest = stint;
  }
  if (latest === undefined || latest.leftAt === null) return undefined;
  return { cumulativeMs, latestStintMs: latest.leftAt - latest.enteredAt, leftAt: latest.leftAt };
}

// The instants of one day share its day and month: their texts are made once per day seen (every
// event of a rebuild asks for its day and month, and every deal a question adds up for its capture month).
const textsOfDay = new Map<number, { readonly day: string; readonly month: string }>();
const maxDaysKept = 100_000;

function textsOf(time: number): { readonly day: string; readonly month: string } {
  const day = Math.floor(time / dayMs);
  let texts = textsOfDay.get(day);
  if (texts === undefined) {
    const iso = new Date(day * dayMs).toISOString();
    texts = { day: iso.slice(0, 10), month: iso.slice(0, 7) };
    if (textsOfDay.size < maxDaysKept) textsOfDay.set(day, texts);
  }
  return texts;
}

/** The first instant of an instant's UTC month, and of the month after it. */
export function monthBounds(time: number): { readonly first: number; readonly next: number } {
  const date = new Date(time);
  return { first: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1), next: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) };
}

/** The first instant of an instant's UTC day, and of the day after it. */
export function dayBounds(time: number): { readonly first: number; readonly next: number } {
  const first = Math.floor(time / dayMs) * dayMs;
  return { first, next: first + dayMs };
}

/** The UTC day of an instant, e.g. 2025-06-30. */
export const utcDay = (time: number): string => textsOf(time).day;

/** The UTC month of an instant, e.g. 2025-06: how capture months are named. */
export const utcMonth = (time: number): string => textsOf(time).month;

export function groupKey(deal: DealTimeline, groupBy: GroupBy): string {
  switch (groupBy) {
    case 'owner':
      return deal.owner;
    case 'source':
      return deal.source;
    case 'month':
      return utcMonth(deal.capturedAt);
    default:
      throw new Error(`Unknown grouping ${JSON.stringify(groupBy satisfies never)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// One deal's share of the figures. Every figure is a sum of these shares (counts and sums) or an
// order statistic of the durations they hold, so the scan below and the pre-aggregated read model
// (analytics-aggregates.ts) add up the same shares.

/** The durations whose count, mean, median and p90 are reported. */
export const durationStatNames = ['cycle', ...openStages.flatMap((stage) => [`${stage}:cumulative`, `${stage}:latest`] as const)] as const;
export type DurationStat = (typeof durationStatNames)[number];

export interface ContributionSink {
  /**
   * Adds `by` to an additive field: `deals`, `won`, `lost`, `open`, `c:<currency>:<what>`, `reached:<stage>`, `next:<stage>`, `still:<stage>`.
   * `at` is when what it counts happened (the time `counts` was asked about); undefined for the standing fields.
   */
  count(field: string, by: number, at?: number): void;
  /** The deal's one value (ms) of a duration statistic, counted at `at` (when the stint was left, or the deal won). */
  duration(stat: DurationStat, ms: number, at: number): void;
}

/**
 * The fields `contribute` counts whatever `counts` answers: the deal itself, open (and in which
 * currency), still in a stage. A period counts them for every deal, whatever happened in its window.
 */
export function standingField(field: string): boolean {
  return field === 'deals' || field === 'open' || field.startsWith('still:') || (field.startsWith('c:') && field.endsWith(':open'));
}

/**
 * Whether the deal is closed and in no stage: then `contribute` counts no standing field of it but
 * `deals`, so a question that counts nothing it did (a period that starts after its every event)
 * counts only the deal itself.
 */
export function closedInNoStage(deal: DealTimeline): boolean {
  return deal.outcome !== null && deal.closedAt !== null && deal.stints.at(-1)?.leftAt !== null;
}

// The field and statistic names `contribute` hands out, made once: a scan or a rebuild calls it for
// every deal, and names built afresh each time would be hashed afresh by every map they key.
const reachedFields = funnelStages.map((stage) => `reached:${stage}`);
const nextFields = funnelStages.map((stage) => `next:${stage}`);
const stageNames = openStages.map((stage) => ({
  stage,
  still: `still:${stage}`,
  cumulative: `${stage}:cumulative` as const,
  latest: `${stage}:latest` as const,
}));
// Bounded: the decider accepts only the few hundred ISO 4217 codes (isCurrencyCode).
const currencyFieldCache = new Map<string, CurrencyFields>();
interface CurrencyFields {
  readonly open: string;
  readonly won: string;
  readonly wonValue: string;
  readonly wonCycleMs: string;
  readonly lost: string;
  readonly lostValue: string;
}
function currencyFields(code: string): CurrencyFields {
  let fields = currencyFieldCache.get(code);
  if (fields === undefined) {
    const field = (what: string) => `c:${code}:${what}`;
    fields = { open: field('open'), won: field('won'), wonValue: field('wonValue'), wonCycleMs: field('wonCycleMs'), lost: field('lost'), lostValue: field('lostValue') };
    currencyFieldCache.set(code, fields);
  }
  return fields;
}

/**
 * What one deal, as it stands at the horizon, adds to the figures. `counts(time)` says whether
 * something that happened at `time` counts: always in cohort basis (the deal was selected by its
 * capture), in the window in period basis.
 */
export function contribute(deal: DealTimeline, counts: (time: number) => boolean, sink: ContributionSink): void {
  sink.count('deals', 1);
  const value = deal.values.at(-1);
  const currency = value && currencyFields(value.currency);
  if (deal.outcome === null) {
    sink.count('open', 1);
    if (currency) sink.count(currency.open, 1);
  } else if (deal.closedAt !== null && counts(deal.closedAt)) {
    const at = deal.closedAt;
    if (deal.outcome === 'won') {
      const cycle = at - deal.capturedAt;
      sink.count('won', 1, at);
      sink.duration('cycle', cycle, at);
      if (value && currency) {
        sink.count(currency.won, 1, at);
        sink.count(currency.wonValue, value.amount, at);
        sink.count(currency.wonCycleMs, cycle, at);
      }
    } else {
      sink.count('lost', 1, at);
      if (value && currency) {
        sink.count(currency.lost, 1, at);
        sink.count(currency.lostValue, value.amount, at);
      }
    }
  }
  for (let index = 0; index < funnelStages.length; index++) {
    const reached = reachedAt(deal, funnelStages[index]!);
    if (reached === undefined || !counts(reached)) continue;
    sink.count(reachedFields[index]!, 1, reached);
    const next = funnelStages[index + 1];
    if (next !== undefined && reachedAt(deal, next) !== undefined) sink.count(nextFields[index]!, 1, reached);
  }
  for (let index = 0; index < stageNames.length; index++) {
    const { stage, still, cumulative, latest } = stageNames[index]!;
    const time = timeInStage(deal, stage);
    if (time === undefined) continue;
    if (time === 'in stage') {
      sink.count(still, 1);
    } else if (counts(time.leftAt)) {
      sink.duration(cumulative, time.cumulativeMs, time.leftAt);
      sink.duration(latest, time.latestStintMs, time.leftAt);
    }
  }
}

/** The figures from the summed fields and the statistics of each duration. */
export function metricsFrom(fields: ReadonlyMap<string, number>, durations: (stat: DurationStat) => DurationStats): CycleMetrics {
  const field = (name: string): number => fields.get(name) ?? 0;
  const won = field('won');
  const lost = field('lost');
  const closed = won + lost;
  const byValue: Record<string, number | null> = {};
  const velocity: Record<string, Velocity> = {};
  for (const code of currenciesOf(fields)) {
    const sums = {
      open: field(`c:${code}:open`),
      won: field(`c:${code}:won`),
      lost: field(`c:${code}:lost`),
      wonValue: field(`c:${code}:wonValue`),
      lostValue: field(`c:${code}:lostValue`),
      wonCycleMs: field(`c:${code}:wonCycleMs`),
    };
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
  let cumulative: number | null = field('reached:lead') > 0 ? 1 : null;
  const stages = funnelStages.map((stage, index): StageMetrics => {
    const next = funnelStages[index + 1] ?? null;
    const reached = field(`reached:${stage}`);
    const nextStep = next === null || reached === 0 ? null : field(`next:${stage}`) / reached;
    const stageCumulative = cumulative;
    // Past a stage no deal left, none reached a later one: their share of the leads is 0, not unknown.
    cumulative = cumulative === null || cumulative === 0 ? cumulative : nextStep === null ? null : cumulative * nextStep;
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
          : { cumulative: durations(`${open}:cumulative`), latestStint: durations(`${open}:latest`), stillInStage: field(`still:${open}`) },
    };
  });
  return {
    won,
    lost,
    open: field('open'),
    winRate: { byCount: closed > 0 ? roundRate(won / closed) : null, byValue },
    cycleLength: durations('cycle'),
    stages,
    velocity,
  };
}

/** The currencies some counted deal is in (open, won or lost), sorted. */
function currenciesOf(fields: ReadonlyMap<string, number>): string[] {
  const codes = new Set<string>();
  for (const [name, value] of fields) {
    if (!name.startsWith('c:') || value === 0) continue;
    const what = name.lastIndexOf(':');
    if (['open', 'won', 'lost'].includes(name.slice(what + 1))) codes.add(name.slice(2, what));
  }
  return [...codes].sort();
}

/** The figures' sums, overall or of one group: every additive field, and every duration in order. */
export interface Sums {
  readonly fields: ReadonlyMap<string, number>;
  readonly durations: ReadonlyMap<DurationStat, SortedDurations>;
}

/** What a scan adds up, before it becomes figures: kept, it can be corrected deal by deal (scan-sums.ts). */
export interface CycleSums {
  readonly overall: Sums;
  readonly groups: ReadonlyMap<string, Sums>;
}

function metricsOfSums({ fields, durations }: Sums): CycleMetrics {
  return metricsFrom(fields, (stat) => statsOfSorted(durations.get(stat) ?? SortedDurations.none));
}

export function analyticsOfSums({ overall, groups }: CycleSums): CycleAnalytics {
  return { ...metricsOfSums(overall), groups: sortGroups([...groups].map(([key, group]) => ({ key, ...metricsOfSums(group) }))) };
}

/** Every figure's shares, summed in memory: what a scan adds up deal by deal. */
class Accumulator implements ContributionSink {
  readonly fields = new Map<string, number>();
  readonly durationsMs = new Map<DurationStat, number[]>();

  count(field: string, by: number): void {
    this.fields.set(field, (this.fields.get(field) ?? 0) + by);
  }

  duration(stat: DurationStat, ms: number): void {
    const values = this.durationsMs.get(stat);
    if (values) values.push(ms);
    else this.durationsMs.set(stat, [ms]);
  }

  sums(): Sums {
    return { fields: this.fields, durations: new Map([...this.durationsMs].map(([stat, values]) => [stat, SortedDurations.of(values)])) };
  }
}

/** One deal's share of a question's figures, and its group's key when grouped (dealShares). */
export interface DealShare {
  readonly group: string | undefined;
  readonly fields: ReadonlyArray<readonly [string, number]>;
  readonly durations: ReadonlyArray<readonly [DurationStat, number]>;
}

class ShareOfDeal implements ContributionSink {
  readonly fields: [string, number][] = [];
  readonly durations: [DurationStat, number][] = [];

  count(field: string, by: number): void {
    this.fields.push([field, by]);
  }

  duration(stat: DurationStat, ms: number): void {
    this.durations.push([stat, ms]);
  }
}

/** One deal's share, added to the overall figures and its group's at once: `contribute` walks the timeline once. */
class Both implements ContributionSink {
  constructor(
    private readonly overall: Accumulator,
    private readonly group: Accumulator,
  ) {}

  count(field: string, by: number): void {
    this.overall.count(field, by);
    this.group.count(field, by);
  }

  duration(stat: DurationStat, ms: number): void {
    this.overall.duration(stat, ms);
    this.group.duration(stat, ms);
  }
}

export interface CycleAnalyticsBuilder {
  add(timeline: DealTimeline): void;
  /** Adds counts summed elsewhere (deals not added one by one) to the overall figures, or to a group's. */
  addCounts(fields: ReadonlyMap<string, number>, group?: string): void;
  sums(): CycleSums;
  result(): CycleAnalytics;
}

/** Where a question looks: the horizon every timeline is cut at, and what counts. */
export interface AnalyticsWindow {
  /** Cohort deals are followed up to asOf; a period is seen as it stood at its own end. */
  readonly horizon: number;
  readonly inWindow: (time: number) => boolean;
  /** In cohort basis the deal was selected by its capture; everything up to the horizon counts. */
  readonly counts: (time: number) => boolean;
}

export function analyticsWindow(options: AnalyticsOptions): AnalyticsWindow {
  const from = options.from ?? -Infinity;
  const to = options.to ?? Infinity;
  const horizon = options.basis === 'cohort' ? options.asOf : Math.min(options.asOf, to - 1);
  const inWindow = (time: number): boolean => time >= from && time < to && time <= horizon;
  return { horizon, inWindow, counts: options.basis === 'cohort' ? () => true : inWindow };
}

/** The deal as the question sees it, cut at its horizon; undefined for a deal it does not count. */
function countedAt(timeline: DealTimeline, options: AnalyticsOptions, { horizon, inWindow }: AnalyticsWindow): DealTimeline | undefined {
  const deal = timelineAt(timeline, horizon);
  return deal === undefined || (options.basis === 'cohort' && !inWindow(deal.capturedAt)) ? undefined : deal;
}

/**
 * Each deal's share of one question's figures, what the scan adds for it: so sums kept from a scan
 * can take a deal's share out and its share of a neighbouring question in (scan-sums.ts).
 */
export function dealShares(options: AnalyticsOptions): (timeline: DealTimeline) => DealShare | undefined {
  const window = analyticsWindow(options);
  return (timeline) => {
    const deal = countedAt(timeline, options, window);
    if (deal === undefined) return undefined;
    const share = new ShareOfDeal();
    contribute(deal, window.counts, share);
    return { group: options.groupBy === undefined ? undefined : groupKey(deal, options.groupBy), fields: share.fields, durations: share.durations };
  };
}

export function createCycleAnalytics(options: AnalyticsOptions): CycleAnalyticsBuilder {
  const window = analyticsWindow(options);
  const overall = new Accumulator();
  const groups = new Map<string, Accumulator>();

  const groupOf = (key: string): Accumulator => {
    let group = groups.get(key);
    if (!group) {
      group = new Accumulator();
      groups.set(key, group);
    }
    return group;
  };

  const sums = (): CycleSums => ({ overall: overall.sums(), groups: new Map([...groups].map(([key, group]) => [key, group.sums()])) });

  return {
    add(timeline: DealTimeline): void {
      const deal = countedAt(timeline, options, window);
      if (deal === undefined) return;
      contribute(deal, window.counts, options.groupBy === undefined ? overall : new Both(overall, groupOf(groupKey(deal, options.groupBy))));
    },
    addCounts(fields: ReadonlyMap<string, number>, group?: string): void {
      const sink = group === undefined ? overall : groupOf(group);
      for (const [field, by] of fields) sink.count(field, by);
    },
    sums,
    result: () => analyticsOfSums(sums()),
  };
}

/** Groups in key order (by UTF-16 code units, as the scan always sorted them). */
export function sortGroups(groups: GroupMetrics[]): GroupMetrics[] {
  return groups.sort(({ key: a }, { key: b }) => (a < b ? -1 : a > b ? 1 : 0));
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
