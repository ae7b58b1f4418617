import type { JsonObject, ReadModelChange, ReadModelStore } from '@deals/read-models';
import { contribute, type DurationStat, durationStatNames, type DurationStats, durationStatsOf, groupKey, monthBounds, percentileRanks, utcDay, utcMonth } from './cycle-metrics';
import { type DealTimeline, latestTime, timelineAt } from './deal-timeline';

/**
 * The analytics pre-aggregates: every deal's share of the cohort figures as it stands now (see
 * `contribute`), summed per scope, so that the common questions read a few counter hashes and a
 * few short index ranges instead of every timeline. docs/analytics.md, "How queries stay fast".
 *
 * A scope is `all`, `owner:<owner>`, `source:<source>` or `month:<YYYY-MM>` (capture month); each
 * deal belongs to one scope of each kind. A scope `event:<YYYY-MM>` holds instead what a period
 * counts that happened in that month, of every deal (`periodShares`), and a scope `change:<YYYY-MM>`
 * how every deal's cohort share moved over that month: its share at the month's end less its share
 * at its start, so that the months up to an instant's add up to the cohort then; a scope
 * `pair:<M>:<N>` the same for each deal's share of month M's period figures over month N. Per scope:
 * - `analytics:t:<scope>`, a counter hash: the additive fields of `contribute` and, per duration
 *   statistic, its exact sum in ms (`<stat>#s`) and a histogram of its values over fixed bins
 *   (`<stat>#<bin>`), whose counts add up to its count;
 * - `analytics:d:<stat>:<scope>`, a sorted index of deal id → duration in ms: with the histogram,
 *   the value at any rank is one short range inside one bin, so medians and p90s stay exact.
 * And once: `analytics:active`, deal id → business time of its latest change (what asOf must
 * correct), and the same per capture month (`analytics:active:<YYYY-MM>`, with `analytics:activity`,
 * month → the deals its index has held since their capture), so that a question about an instant long
 * past corrects only the deals captured by then; `analytics:groups`, scope → deals, to list the
 * groups of a grouping, and
 * `analytics:revisions`, scope → the changes made to it, with the generation they count in
 * (`analytics:meta/revisions`), under which a scope's figures can be remembered (AnalyticsMemo);
 * `analytics:captures`, deal id → capture time; `analytics:kept`, per kind (`event-months`,
 * `captures`, `change-months`) the deals it has held since their capture. The change months also
 * keep the values their duration indexes replace (`analytics:w:<stat>`, `<YYYY-MM>:<deal id>` → the
 * deal's value at the month's start, where it differs from the one at its end) and, per deal changed
 * in a month, the business time of its first and its last change then (`analytics:cf:<YYYY-MM>`,
 * `analytics:cl:<YYYY-MM>`), and of its last change in a day (`analytics:dl:<YYYY-MM-DD>`);
 * `analytics:groups` counts each month's deals.
 */
export const analyticsActiveIndex = 'analytics:active';
export const monthActivityIndex = (month: string): string => `${analyticsActiveIndex}:${month}`;
export const analyticsActivityCounter = 'analytics:activity';
export const analyticsGroupsCounter = 'analytics:groups';
export const analyticsRevisionsCounter = 'analytics:revisions';
export const analyticsMetaCollection = 'analytics:meta';
export const revisionsMetaId = 'revisions';
export const allScope = 'all';
/** The scope of what a period counts that happened in one UTC month (periodShares). */
export const eventScope = (month: string): string => `event:${month}`;
/** The scope of how every deal's cohort share moved over one UTC month (changeMonthChanges). */
const changeScopePrefix = 'change:';
export const changeScope = (month: string): string => `${changeScopePrefix}${month}`;
export const isChangeScope = (scope: string): boolean => scope.startsWith(changeScopePrefix);
const monthOfChangeScope = (scope: string): string => scope.slice(changeScopePrefix.length);
/**
 * The change months' values at their start that their duration indexes replace with those at their
 * end, one index per statistic for every month (`<YYYY-MM>:<deal id>` → value): there are few, and a
 * question reads them in one range per bin rather than one per month.
 */
export const startValuesIndex = (stat: DurationStat): string => `analytics:w:${stat}`;
const startValueMember = (month: string, dealId: string): string => `${month}:${dealId}`;
/** The month and the deal of a start value's member. */
export function startValueOf(member: string): { readonly month: string; readonly dealId: string } {
  const colon = member.indexOf(':');
  return { month: member.slice(0, colon), dealId: member.slice(colon + 1) };
}
/**
 * The scope of how every deal's share of month `M`'s period figures moved over month `N` (M ≤ N):
 * an event moves its own month's share, and sometimes an earlier one's (a `next:` count, a stage's
 * time moved by a re-entry), so the pairs up to a month add up to each month's share as it stood at
 * that month's end (periodPairChanges).
 */
const pairScopePrefix = 'pair:';
export const pairScope = (month: string, during: string): string => `${pairScopePrefix}${month}:${during}`;
export const isPairScope = (scope: string): boolean => scope.startsWith(pairScopePrefix);
/** The pairs' values at their month's start, as startValuesIndex holds the change months' (`<M>:<N>:<deal id>` → value). */
export const pairStartValuesIndex = (stat: DurationStat): string => `analytics:pw:${stat}`;
const pairStartValueMember = (month: string, during: string, dealId: string): string => `${month}:${during}:${dealId}`;

/**
 * Where the scopes with start values keep them (the change months and the pairs), and the key that
 * names a scope among a start value's members: its month, or its two months.
 */
export function startValuesOf(scope: string): { readonly index: (stat: DurationStat) => string; readonly key: string } | undefined {
  if (isChangeScope(scope)) return { index: startValuesIndex, key: monthOfChangeScope(scope) };
  if (isPairScope(scope)) return { index: pairStartValuesIndex, key: scope.slice(pairScopePrefix.length) };
  return undefined;
}
/** The scope key of a start value's member (startValuesOf): all of it before the deal id. */
export const startValueKey = (member: string): string => member.slice(0, member.lastIndexOf(':'));

/** Deal id → business time of its first change in a UTC month. */
export const changeFirstIndex = (month: string): string => `analytics:cf:${month}`;
/** Deal id → business time of its last change in a UTC month. */
export const changeLastIndex = (month: string): string => `analytics:cl:${month}`;
/**
 * Deal id → business time of its last change in a UTC day, for a span inside a month. Only the last:
 * a first-change index too cost the rebuild as much again for a span that ends inside a day, whose
 * deals that changed later that day only are read and left out instead.
 */
export const changeDayLastIndex = (day: string): string => `analytics:dl:${day}`;
/** Deal id → capture time: which deals of a month had been captured by an instant. */
export const analyticsCapturesIndex = 'analytics:captures';
/**
 * Per kind of what is kept of every deal from its capture on (`keptEventMonths`, `keptCaptures`,
 * `keptChangeMonths`, `keptPeriodPairs`, `keptChangeSubBins`, `keptChangeDays`), the deals it holds: fewer than the deals in a read model projected before that kind existed.
 */
export const analyticsKeptCounter = 'analytics:kept';
export const keptEventMonths = 'event-months';
export const keptCaptures = 'captures';
export const keptChangeMonths = 'change-months';
export const keptPeriodPairs = 'period-pairs';
/** Named for the cut, so that a read model whose change months were cut another way reads whole bins. */
export const keptChangeSubBins = 'change-sixteenths';
export const keptChangeDays = 'change-days';

/**
 * `analytics:meta/revisions`: the generation the revisions count in, and the projection's clock in
 * business time. `latest` is the latest occurredAt of the events that changed a timeline; `late`
 * counts those that happened more than `lateAfterMs` before the latest one projected before them
 * (history imported after newer events). Every other event happens after `latest - lateAfterMs`, so
 * an answer about an instant before that holds for as long as `late` does not move (AnalyticsMemo).
 * Read models projected before the clock existed start it at their next event.
 */
export interface AnalyticsMeta {
  readonly generation: string;
  readonly latest?: number;
  readonly late?: number;
}

/**
 * An hour: commands are stamped when handled, so ordinary traffic commits at most a few
 * milliseconds (or the clock skew between instances) out of order; imported history is older.
 */
export const lateAfterMs = 3_600_000;

/** The meta document as stored, or undefined when there is none (or it names no generation). */
export function analyticsMeta(document: JsonObject | undefined): AnalyticsMeta | undefined {
  return typeof document?.['generation'] === 'string' ? (document as unknown as AnalyticsMeta) : undefined;
}

/** The meta document after an event that happened at `occurredAt` changed a timeline. */
export function advanceClock(meta: AnalyticsMeta, occurredAt: number): AnalyticsMeta {
  const late = (meta.late ?? 0) + (meta.latest !== undefined && occurredAt < meta.latest - lateAfterMs ? 1 : 0);
  return { generation: meta.generation, latest: Math.max(meta.latest ?? -Infinity, occurredAt), late };
}
export const totalsCounter = (scope: string): string => `analytics:t:${scope}`;
export const durationIndex = (scope: string, stat: DurationStat): string => `analytics:d:${stat}:${scope}`;

/**
 * What is derived from a timeline alone, worked out once per frozen timeline (read-model reads with
 * `frozen`, shared until the deal changes): a frozen timeline cannot change, however many questions
 * add it up. Other timelines derive it afresh.
 */
function derivedOnce<T>(remembered: WeakMap<DealTimeline, T>, deal: DealTimeline, derive: () => T): T {
  const known = remembered.get(deal);
  if (known !== undefined) return known;
  const derived = derive();
  if (Object.isFrozen(deal)) remembered.set(deal, derived);
  return derived;
}

const scopesOfFrozen = new WeakMap<DealTimeline, readonly string[]>();

export function dealScopes(deal: DealTimeline): readonly string[] {
  return derivedOnce(scopesOfFrozen, deal, () => [allScope, `owner:${deal.owner}`, `source:${deal.source}`, `month:${groupKey(deal, 'month')}`]);
}

// ---------------------------------------------------------------------------------------------
// Histogram bins: integer edges in ms, each about 5 % above the one before from one minute up, so
// that a bin holds a small share of any statistic's values. Changing them needs a rebuild.

const binGrowth = 1.05;
const binEdges: readonly number[] = (() => {
  const edges = [-Infinity, 0, 60_000];
  while (edges.at(-1)! < 50 * 365 * 86_400_000) edges.push(Math.ceil(edges.at(-1)! * binGrowth));
  return edges;
})();

/** The bin of a duration: the last edge at or below it. */
export function durationBin(ms: number): number {
  let low = 0;
  let high = binEdges.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (binEdges[middle]! <= ms) low = middle;
    else high = middle - 1;
  }
  return low;
}

interface Bounds {
  readonly min: number;
  readonly max: number;
}

/** Inclusive score bounds of a bin (durations are whole milliseconds). */
function binBounds(bin: number): Bounds {
  const next = binEdges[bin + 1];
  return { min: binEdges[bin]!, max: next === undefined ? Infinity : next - 1 };
}

/**
 * The scope `all` holds every deal, so its bins are crowded: each is cut again into 64 sub-bins,
 * counted in a hash per bin (`analytics:f:all:<stat>:<bin>`), so that a rank lookup reads one more
 * small hash and a range a sixty-fourth as long. Its fields fold well within a rebuild batch (every
 * deal writes the same hot hashes). The change months are cut into 16 (`analytics:f:change:<YYYY-MM>
 * :<stat>:<bin>`, by the same deltas as their histograms): asOf far back reads the union of a dozen
 * or more of their indexes, whose bins hold every deal's values between them, and a sixteenth of a
 * bin is already a short read there, while each month's hashes are written apart and fold less well.
 * The other scopes are small enough without, and are never asked for their cut.
 */
export function subBinsOf(scope: string): number {
  return scope === allScope ? 64 : 16;
}
export const fineCounter = (scope: string, stat: DurationStat, bin: number): string => `analytics:f:${scope}:${stat}:${bin}`;
/** The sub-bin counts of one bin of a scope's statistic (fineCounter), read or remembered: sub-bin → count. */
export type SubBinCountsOf = (scope: string, stat: DurationStat, bin: number) => Promise<ReadonlyMap<number, number>>;

/** Reads the sub-bin counts of one bin of a scope's statistic. */
export async function subBinCountsIn(store: ReadModelStore, scope: string, stat: DurationStat, bin: number): Promise<ReadonlyMap<number, number>> {
  return new Map(Object.entries(await store.counters(fineCounter(scope, stat, bin))).map(([sub, count]) => [Number(sub), count]));
}

/** The sub-bin of a duration inside its bin, of `parts`; the open-ended first and last bins are not cut. */
export function durationSubBin(ms: number, bin: number, parts: number): number {
  const { min, max } = binBounds(bin);
  if (!Number.isFinite(min) || !Number.isFinite(max)) return 0;
  // Exact: (ms − min) × parts and the width are integers well below 2^53.
  return Math.floor(((ms - min) * parts) / (max - min + 1));
}

function subBinBounds(bin: number, sub: number, parts: number): Bounds {
  const { min, max } = binBounds(bin);
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { min, max };
  const width = max - min + 1;
  return { min: min + Math.ceil((sub * width) / parts), max: min + Math.ceil(((sub + 1) * width) / parts) - 1 };
}

/**
 * The statistics stored: a deal is in lead and in qualified for one stint at most (the decider
 * refuses to qualify a deal past qualification), so their latest stint is their cumulative time
 * and one index serves both.
 */
const storedStats = durationStatNames.filter((stat) => stat !== 'lead:latest' && stat !== 'qualified:latest');

/** The stored statistic that holds a statistic's values. */
export function storedStat(stat: DurationStat): DurationStat {
  return stat === 'lead:latest' ? 'lead:cumulative' : stat === 'qualified:latest' ? 'qualified:cumulative' : stat;
}

// ---------------------------------------------------------------------------------------------
// Write side: the change one event makes to a deal's share, in every scope of the deal.

export interface Share {
  readonly fields: ReadonlyMap<string, number>;
  readonly durations: ReadonlyMap<DurationStat, number>;
}

const sharesOfFrozen = new WeakMap<DealTimeline, Share>();

/** A deal's share of the cohort figures as it stands (no horizon: everything so far counts). */
export function shareOf(deal: DealTimeline): Share {
  return derivedOnce(sharesOfFrozen, deal, () => {
    const fields = new Map<string, number>();
    const durations = new Map<DurationStat, number>();
    contribute(deal, () => true, {
      count: (field, by) => fields.set(field, (fields.get(field) ?? 0) + by),
      duration: (stat, ms) => durations.set(stat, ms),
    });
    return { fields, durations };
  });
}

/**
 * A deal's share of the period figures as it stands: per UTC month, what a period counts that
 * happened then (a close, a stage reached, a stint left: the scopes `event:<YYYY-MM>`), months with
 * nothing counted left out; and apart, the standing fields (the deal, open, still in a stage), which
 * a period counts as the deal stood at its end, as the cohort scopes hold them.
 */
export interface PeriodShares {
  readonly months: ReadonlyMap<string, Share>;
  readonly standing: Share;
}

const periodSharesOfFrozen = new WeakMap<DealTimeline, PeriodShares>();

export function periodShares(deal: DealTimeline): PeriodShares {
  return derivedOnce(periodSharesOfFrozen, deal, () => {
    const months = new Map<string, { readonly fields: Map<string, number>; readonly durations: Map<DurationStat, number> }>();
    const standing = new Map<string, number>();
    const shareAt = (at: number) => {
      const month = utcMonth(at);
      let share = months.get(month);
      if (share === undefined) months.set(month, (share = { fields: new Map(), durations: new Map() }));
      return share;
    };
    contribute(deal, () => true, {
      count: (field, by, at) => {
        const fields = at === undefined ? standing : shareAt(at).fields;
        fields.set(field, (fields.get(field) ?? 0) + by);
      },
      duration: (stat, ms, at) => shareAt(at).durations.set(stat, ms),
    });
    return { months, standing: { fields: standing, durations: noShare.durations } };
  });
}

export const noShare: Share = { fields: new Map(), durations: new Map() };
const noShares: ReadonlyMap<string, Share> = new Map();

/** How a deal's share moves: the additive fields (histograms and sums included) and the durations whose value changed. */
interface ShareDelta {
  readonly deltas: ReadonlyMap<string, number>;
  readonly moved: ReadonlyArray<{ readonly stat: DurationStat; readonly was: number | undefined; readonly is: number | undefined }>;
}

function shareDelta(old: Share, now: Share): ShareDelta {
  const deltas = new Map<string, number>();
  const add = (field: string, by: number) => deltas.set(field, (deltas.get(field) ?? 0) + by);
  for (const [field, value] of old.fields) add(field, -value);
  for (const [field, value] of now.fields) add(field, value);
  const moved: Array<ShareDelta['moved'][number]> = [];
  for (const stat of storedStats) {
    const was = old.durations.get(stat);
    const is = now.durations.get(stat);
    if (was === is) continue;
    if (was !== undefined) {
      add(`${stat}#s`, -was);
      add(`${stat}#${durationBin(was)}`, -1);
    }
    if (is !== undefined) {
      add(`${stat}#s`, is);
      add(`${stat}#${durationBin(is)}`, 1);
    }
    moved.push({ stat, was, is });
  }
  return { deltas, moved };
}

/** The changes that move a scope's sub-bin counts (fineCounter) by the durations a share delta moved. */
function subBinChanges(changes: ReadModelChange[], scope: string, moved: ShareDelta['moved']): void {
  for (const { stat, was, is } of moved) {
    for (const [ms, by] of [[was, -1], [is, 1]] as const) {
      if (ms === undefined) continue;
      const bin = durationBin(ms);
      changes.push({ kind: 'increment', counter: fineCounter(scope, stat, bin), field: String(durationSubBin(ms, bin, subBinsOf(scope))), by });
    }
  }
}

/** The changes that move one scope's totals and indexes by a deal's share delta, and its revision. */
function scopeChanges(changes: ReadModelChange[], scope: string, dealId: string, { deltas, moved }: ShareDelta): void {
  totalsChanges(changes, scope, deltas);
  for (const { stat, is } of moved) changes.push(indexChange(durationIndex(scope, stat), dealId, is));
}

/** The changes that move one scope's counter hash, and its revision. */
function totalsChanges(changes: ReadModelChange[], scope: string, deltas: ShareDelta['deltas']): void {
  const counter = totalsCounter(scope);
  for (const [field, by] of deltas) if (by !== 0) changes.push({ kind: 'increment', counter, field, by });
  changes.push({ kind: 'increment', counter: analyticsRevisionsCounter, field: scope, by: 1 });
}

function indexChange(index: string, member: string, score: number | undefined): ReadModelChange {
  return score === undefined ? { kind: 'unindex', index, member } : { kind: 'index', index, member, score };
}

/**
 * How the event that made `after` moves the deal's net change over its month. A deal's events never
 * go back in time, so the event is the deal's latest and its month's end share is now `after`'s: the
 * counters move by the cohort delta, and each duration moved is indexed at its value now, with its
 * value at the month's start beside it, unless the two are equal (the month then changed nothing).
 */
function changeMonthChanges(changes: ReadModelChange[], before: DealTimeline | undefined, after: DealTimeline, cohort: ShareDelta): void {
  const at = latestTime(after);
  const month = utcMonth(at);
  const scope = changeScope(month);
  const monthStart = monthBounds(at).first;
  const firstInMonth = before === undefined || latestTime(before) < monthStart;
  if (firstInMonth) {
    changes.push({ kind: 'index', index: changeFirstIndex(month), member: after.dealId, score: at });
    changes.push({ kind: 'increment', counter: analyticsGroupsCounter, field: scope, by: 1 });
  }
  changes.push({ kind: 'index', index: changeLastIndex(month), member: after.dealId, score: at });
  changes.push({ kind: 'index', index: changeDayLastIndex(utcDay(at)), member: after.dealId, score: at });
  totalsChanges(changes, scope, cohort.deltas);
  subBinChanges(changes, scope, cohort.moved);
  if (cohort.moved.length === 0) return;
  const atStart = firstInMonth ? (before === undefined ? noShare : shareOf(before)) : shareAt(after, monthStart - 1);
  for (const { stat, is } of cohort.moved) {
    const was = atStart.durations.get(stat);
    changes.push(indexChange(durationIndex(scope, stat), after.dealId, was === is ? undefined : is));
    changes.push(indexChange(startValuesIndex(stat), startValueMember(month, after.dealId), was === is ? undefined : was));
  }
}

/** A deal's cohort share as it stood at an instant (none before its capture). */
export function shareAt(deal: DealTimeline, horizon: number): Share {
  const then = timelineAt(deal, horizon);
  return then === undefined ? noShare : shareOf(then);
}

/** A deal's period shares as they stood at an instant; undefined before its capture. */
export function periodSharesAt(deal: DealTimeline, horizon: number): PeriodShares | undefined {
  const then = timelineAt(deal, horizon);
  return then === undefined ? undefined : periodShares(then);
}

const monthEndsOfFrozen = new WeakMap<DealTimeline, { readonly at: number; readonly then: DealTimeline | undefined }>();

/**
 * A stored deal as it stood at the end of a month, where questions about an instant long past start
 * from (their nearer month end): the cut is remembered, frozen, for the latest month end asked of
 * each frozen timeline, so every question of that month derives its shares from it once.
 */
export function atMonthEnd(deal: DealTimeline, boundary: number): DealTimeline | undefined {
  const known = monthEndsOfFrozen.get(deal);
  if (known?.at === boundary) return known.then;
  const then = timelineAt(deal, boundary);
  const kept = then === undefined || then === deal ? then : Object.freeze(then);
  if (Object.isFrozen(deal)) monthEndsOfFrozen.set(deal, { at: boundary, then: kept });
  return kept;
}

/** The counter and index changes that move a deal's share from `before` to `after`. */
export function aggregateChanges(before: DealTimeline | undefined, after: DealTimeline): ReadModelChange[] {
  const cohort = shareDelta(before === undefined ? noShare : shareOf(before), shareOf(after));
  const changes: ReadModelChange[] = [];
  subBinChanges(changes, allScope, cohort.moved);
  for (const scope of dealScopes(after)) {
    scopeChanges(changes, scope, after.dealId, cohort);
    if (before === undefined && scope !== allScope) changes.push({ kind: 'increment', counter: analyticsGroupsCounter, field: scope, by: 1 });
  }
  changeMonthChanges(changes, before, after, cohort);
  const periodsBefore = before === undefined ? noShares : periodShares(before).months;
  const periodsAfter = periodShares(after).months;
  const during = utcMonth(latestTime(after));
  const duringStart = monthBounds(latestTime(after)).first;
  // Each month's share as it stood at the start of the event's month: the deal before the event, unless it moved earlier in that month.
  const atStart = (): ReadonlyMap<string, Share> =>
    before === undefined || latestTime(before) < duringStart ? periodsBefore : (periodSharesAt(after, duringStart - 1)?.months ?? noShares);
  for (const month of new Set([...periodsBefore.keys(), ...periodsAfter.keys()])) {
    const delta = shareDelta(periodsBefore.get(month) ?? noShare, periodsAfter.get(month) ?? noShare);
    if (delta.moved.length === 0 && ![...delta.deltas.values()].some((by) => by !== 0)) continue;
    scopeChanges(changes, eventScope(month), after.dealId, delta);
    periodPairChanges(changes, month, during, after.dealId, delta, atStart().get(month) ?? noShare);
  }
  const latest = latestTime(after);
  const month = groupKey(after, 'month');
  changes.push({ kind: 'index', index: analyticsActiveIndex, member: after.dealId, score: latest });
  changes.push({ kind: 'index', index: monthActivityIndex(month), member: after.dealId, score: latest });
  // Counted at capture only: a read model projected before these indexes (or the event months'
  // scopes) existed counts fewer here than its deals, and the query then does not trust them.
  if (before === undefined) {
    changes.push({ kind: 'increment', counter: analyticsActivityCounter, field: month, by: 1 });
    changes.push({ kind: 'index', index: analyticsCapturesIndex, member: after.dealId, score: after.capturedAt });
    changes.push({ kind: 'increment', counter: analyticsKeptCounter, field: keptEventMonths, by: 1 });
    changes.push({ kind: 'increment', counter: analyticsKeptCounter, field: keptCaptures, by: 1 });
    changes.push({ kind: 'increment', counter: analyticsKeptCounter, field: keptChangeMonths, by: 1 });
    changes.push({ kind: 'increment', counter: analyticsKeptCounter, field: keptPeriodPairs, by: 1 });
    changes.push({ kind: 'increment', counter: analyticsKeptCounter, field: keptChangeSubBins, by: 1 });
    changes.push({ kind: 'increment', counter: analyticsKeptCounter, field: keptChangeDays, by: 1 });
  }
  return changes;
}

/**
 * How an event in month `during` moves the deal's share of `month` over `during`, as the change
 * months do the cohort share: the counters by the delta, and each duration moved indexed at its value
 * now, with its value at the start of `during` beside it, unless the two are equal.
 */
function periodPairChanges(changes: ReadModelChange[], month: string, during: string, dealId: string, delta: ShareDelta, atStart: Share): void {
  const scope = pairScope(month, during);
  totalsChanges(changes, scope, delta.deltas);
  for (const { stat, is } of delta.moved) {
    const was = atStart.durations.get(stat);
    changes.push(indexChange(durationIndex(scope, stat), dealId, was === is ? undefined : is));
    changes.push(indexChange(pairStartValuesIndex(stat), pairStartValueMember(month, during, dealId), was === is ? undefined : was));
  }
}

// ---------------------------------------------------------------------------------------------
// Read side: one scope's totals, corrected by the deals whose share differs at the horizon.

/**
 * A scope's counter hash split into its additive fields, its histograms and its sums. Read-only, so
 * that the figures of several questions can start from one read (AnalyticsMemo remembers them per
 * scope revision).
 */
export interface ScopeCounters {
  readonly fields: ReadonlyMap<string, number>;
  readonly bins: ReadonlyMap<DurationStat, ReadonlyMap<number, number>>;
  readonly sums: ReadonlyMap<DurationStat, number>;
}

export function scopeCounters(counters: Readonly<Record<string, number>>): ScopeCounters {
  return withCounters({ fields: new Map(), bins: new Map(), sums: new Map() }, counters);
}

/**
 * Counters kept from an earlier read with some fields taken over them, as they now are
 * (ReadModelStore.countersSince). What kept holds is shared, not changed: only the maps a changed
 * field lies in are copied.
 */
export function withCounters(kept: ScopeCounters, changed: Readonly<Record<string, number>>): ScopeCounters {
  let fields: Map<string, number> | undefined;
  let sums: Map<DurationStat, number> | undefined;
  let bins: Map<DurationStat, ReadonlyMap<number, number>> | undefined;
  const copied = new Map<DurationStat, Map<number, number>>();
  // for…in rather than Object.entries: no pair per field, of the several hundred a scope's totals hold.
  for (const name in changed) {
    const value = changed[name]!;
    const hash = name.indexOf('#');
    if (hash < 0) {
      (fields ??= new Map(kept.fields)).set(name, value);
      continue;
    }
    const stat = name.slice(0, hash) as DurationStat;
    const what = name.slice(hash + 1);
    if (what === 's') (sums ??= new Map(kept.sums)).set(stat, value);
    else {
      let histogram = copied.get(stat);
      if (!histogram) {
        copied.set(stat, (histogram = new Map(kept.bins.get(stat))));
        (bins ??= new Map(kept.bins)).set(stat, histogram);
      }
      histogram.set(Number(what), value);
    }
  }
  return { fields: fields ?? kept.fields, bins: bins ?? kept.bins, sums: sums ?? kept.sums };
}

/**
 * A scope's totals as read, plus corrections: some deals moved from their current share to their
 * share at the horizon. Only the deals changed after the horizon need correcting, so a question
 * about now reads the totals as they are.
 */
export class ScopeTotals {
  readonly fields: Map<string, number>;
  /** The histograms as read, shared with other readers of the same counters; `bins` holds those moved since. */
  private readonly read: ReadonlyMap<DurationStat, ReadonlyMap<number, number>>;
  private readonly bins = new Map<DurationStat, Map<number, number>>();
  private readonly sums: Map<DurationStat, number>;
  /** The current values of the deals moved, per statistic: entries of the index to skip. */
  private readonly removed = new Map<DurationStat, number[]>();
  /** Values at the horizon, per statistic: entries the index does not hold. */
  private readonly added = new Map<DurationStat, number[]>();

  /**
   * Whether the counters read hold anything. Every change to a scope's indexes moves its counters too
   * (a duration's sum at least), so a scope whose counters hold nothing has no index entries either.
   */
  readonly touched: boolean;

  /**
   * `indexed: false` for totals that start empty whatever the store holds for the scope (deals are
   * then only added): its indexes are not read either.
   */
  constructor(
    readonly scope: string,
    counters: ScopeCounters,
    readonly indexed = true,
  ) {
    this.fields = new Map(counters.fields);
    this.read = counters.bins;
    this.sums = new Map(counters.sums);
    this.touched = counters.fields.size > 0 || counters.bins.size > 0 || counters.sums.size > 0;
  }

  /**
   * Moves a deal from its current share, which the totals hold, to its share at the horizon
   * (undefined: not there yet). Only what differs moves: a duration the horizon leaves as it is keeps
   * its index entry, so the percentile lookups have fewer entries to skip and merge.
   */
  correct(current: Share, then: Share | undefined): void {
    const thenFields = then?.fields ?? noShare.fields;
    const thenDurations = then?.durations ?? noShare.durations;
    for (const [field, value] of current.fields) this.addField(field, (thenFields.get(field) ?? 0) - value);
    for (const [field, value] of thenFields) if (!current.fields.has(field)) this.addField(field, value);
    for (const [stat, ms] of current.durations) {
      const thenMs = thenDurations.get(stat);
      if (thenMs === ms) continue;
      this.move(stat, ms, -1);
      const removed = this.removed.get(stat);
      if (removed) removed.push(ms);
      else this.removed.set(stat, [ms]);
      if (thenMs !== undefined) this.put(stat, thenMs);
    }
    for (const [stat, ms] of thenDurations) if (!current.durations.has(stat)) this.put(stat, ms);
  }

  private addField(field: string, by: number): void {
    if (by !== 0) this.fields.set(field, (this.fields.get(field) ?? 0) + by);
  }

  /** A value at the horizon that the index does not hold. */
  private put(stat: DurationStat, ms: number): void {
    this.move(stat, ms, 1);
    const added = this.added.get(stat);
    if (added) added.push(ms);
    else this.added.set(stat, [ms]);
  }

  histogram(stat: DurationStat): ReadonlyMap<number, number> {
    return this.bins.get(stat) ?? this.read.get(stat) ?? new Map();
  }

  sum(stat: DurationStat): number {
    return this.sums.get(stat) ?? 0;
  }

  /** The removed values within some bounds. */
  removedIn(stat: DurationStat, { min, max }: Bounds): number[] {
    return (this.removed.get(stat) ?? []).filter((ms) => ms >= min && ms <= max);
  }

  /** The put-back values within some bounds. */
  addedIn(stat: DurationStat, { min, max }: Bounds): number[] {
    return (this.added.get(stat) ?? []).filter((ms) => ms >= min && ms <= max);
  }

  private move(stat: DurationStat, ms: number, by: number): void {
    const bins = this.binsOf(stat);
    const bin = durationBin(ms);
    bins.set(bin, (bins.get(bin) ?? 0) + by);
    this.sums.set(stat, (this.sums.get(stat) ?? 0) + by * ms);
  }

  private binsOf(stat: DurationStat): Map<number, number> {
    let bins = this.bins.get(stat);
    if (!bins) this.bins.set(stat, (bins = new Map(this.read.get(stat))));
    return bins;
  }
}

/** The totals and the sorted index disagree: a commit landed between two reads. Ask again. */
export class TornAggregates extends Error {}

/**
 * Count, mean, median and p90 of a statistic over the union of some scopes (disjoint sets of
 * deals): the histograms locate the bin of each rank the percentiles need, and one range per scope
 * inside that bin, from its nearer end, reads the exact values. Where every indexed scope's bins are
 * cut into sub-bins (`all`'s always; the change months' where the caller trusts them and gives
 * `subBinsRead`, which reads or remembers them), the sub-bin counts narrow that range first.
 */
export async function durationStatsIn(store: ReadModelStore, scopes: readonly ScopeTotals[], stat: DurationStat, subBinsRead?: SubBinCountsOf): Promise<DurationStats> {
  const bins = new Map<number, number>();
  let sumMs = 0;
  for (const scope of scopes) {
    for (const [bin, count] of scope.histogram(stat)) bins.set(bin, (bins.get(bin) ?? 0) + count);
    sumMs += scope.sum(stat);
  }
  const sorted = [...bins].filter(([, count]) => count !== 0).sort(([a], [b]) => a - b);
  if (sorted.some(([, count]) => count < 0)) throw new TornAggregates(`negative histogram count for ${stat}`);
  const n = sorted.reduce((total, [, count]) => total + count, 0);
  // Which bin holds each rank, and where in it.
  const wanted = new Map<number, { readonly count: number; readonly positions: number[] }>();
  const ranks = n === 0 ? [] : percentileRanks(n);
  const located = new Map<number, { readonly bin: number; readonly position: number }>();
  let before = 0;
  let next = 0;
  for (const [bin, count] of sorted) {
    while (next < ranks.length && ranks[next]! < before + count) {
      const rank = ranks[next++]!;
      const entry = wanted.get(bin) ?? { count, positions: [] };
      entry.positions.push(rank - before);
      wanted.set(bin, entry);
      located.set(rank, { bin, position: rank - before });
    }
    before += count;
  }
  const valuesByBin = new Map<number, (position: number) => number>();
  const indexed = scopes.filter((scope) => scope.indexed);
  const countsOf = subBinsRead ?? ((scope: string, of: DurationStat, bin: number) => subBinCountsIn(store, scope, of, bin));
  // `all` is read alone, the change months together: the scopes read share one cut.
  const fine = indexed.length > 0 && (indexed.every(({ scope }) => scope === allScope) || (subBinsRead !== undefined && indexed.every(({ scope }) => isChangeScope(scope))));
  const parts = subBinsOf(indexed[0]?.scope ?? allScope);
  await Promise.all(
    [...wanted].map(async ([bin, { count, positions }]) => {
      valuesByBin.set(
        bin,
        fine ? await valuesInSubBins(store, scopes, stat, { bin, parts }, count, positions, countsOf) : await valuesIn(store, scopes, stat, binBounds(bin), count, positions),
      );
    }),
  );
  return durationStatsOf(n, sumMs, (rank) => {
    const { bin, position } = located.get(rank)!;
    return valuesByBin.get(bin)!(position);
  });
}

/**
 * As valuesIn, one sub-bin at a time: the scopes' sub-bin counts, corrected as their histograms are,
 * say which sub-bin holds each position.
 */
async function valuesInSubBins(
  store: ReadModelStore,
  scopes: readonly ScopeTotals[],
  stat: DurationStat,
  { bin, parts }: { readonly bin: number; readonly parts: number },
  count: number,
  positions: readonly number[],
  countsOf: SubBinCountsOf,
): Promise<(position: number) => number> {
  const subCounts = new Map<number, number>();
  const move = (sub: number, by: number) => subCounts.set(sub, (subCounts.get(sub) ?? 0) + by);
  const bounds = binBounds(bin);
  const none: Promise<ReadonlyMap<number, number>> = Promise.resolve(new Map());
  const counted = await Promise.all(scopes.map((scope) => (scope.indexed ? countsOf(scope.scope, stat, bin) : none)));
  for (const [i, scope] of scopes.entries()) {
    for (const [sub, subCount] of counted[i]!) move(sub, subCount);
    for (const ms of scope.removedIn(stat, bounds)) move(durationSubBin(ms, bin, parts), -1);
    for (const ms of scope.addedIn(stat, bounds)) move(durationSubBin(ms, bin, parts), 1);
  }
  const sorted = [...subCounts].filter(([, subCount]) => subCount !== 0).sort(([a], [b]) => a - b);
  if (sorted.some(([, subCount]) => subCount < 0) || sorted.reduce((total, [, subCount]) => total + subCount, 0) !== count) {
    throw new TornAggregates(`the sub-bins of bin ${bin} of ${stat} do not add up to it`);
  }
  const lookups = new Map<number, (position: number) => number>();
  const located = new Map<number, { readonly sub: number; readonly offset: number }>();
  const wanted = new Map<number, { readonly count: number; readonly positions: number[] }>();
  let before = 0;
  for (const [sub, subCount] of sorted) {
    for (const position of positions) {
      if (position < before || position >= before + subCount) continue;
      located.set(position, { sub, offset: before });
      const entry = wanted.get(sub) ?? { count: subCount, positions: [] };
      entry.positions.push(position - before);
      wanted.set(sub, entry);
    }
    before += subCount;
  }
  await Promise.all(
    [...wanted].map(async ([sub, wantedIn]) => lookups.set(sub, await valuesIn(store, scopes, stat, subBinBounds(bin, sub, parts), wantedIn.count, wantedIn.positions))),
  );
  return (position) => {
    const { sub, offset } = located.get(position)!;
    return lookups.get(sub)!(position - offset);
  };
}

/**
 * As valuesIn, for one scope with nothing to correct: each position read alone, from the nearer end,
 * with the store skipping the entries before it instead of handing them over.
 */
async function valuesAt(
  store: ReadModelStore,
  index: string,
  stat: DurationStat,
  { min, max }: Bounds,
  count: number,
  positions: readonly number[],
): Promise<(position: number) => number> {
  const values = new Map<number, number>();
  await Promise.all(
    adjacentRuns(positions).map(async ({ first, last }) => {
      const reverse = count - 1 - last < first;
      const scores = await store.scores(index, { min, max, reverse, offset: reverse ? count - 1 - last : first, limit: last - first + 1 });
      if (scores.length <= last - first) throw new TornAggregates(`${stat} holds fewer values in [${min}, ${max}] than its histogram counts`);
      scores.forEach((score, i) => values.set(reverse ? last - i : first + i, score));
    }),
  );
  return (position) => values.get(position)!;
}

/** Positions as runs of adjacent ones (an even count's median is two): one read per run. */
export function adjacentRuns(positions: readonly number[]): Array<{ readonly first: number; readonly last: number }> {
  const runs: Array<{ first: number; last: number }> = [];
  for (const position of [...new Set(positions)].sort((a, b) => a - b)) {
    const run = runs.at(-1);
    if (run !== undefined && run.last + 1 === position) run.last = position;
    else runs.push({ first: position, last: position });
  }
  return runs;
}

/**
 * The scores read from one end of a range, less one score equal to each removed value. Values are
 * what a percentile needs, so equal scores are interchangeable: below the last score read every
 * entry of a score was read, so exactly the removed ones go; at the last score an entry beyond the
 * read may be the removed one, and one read goes in its place, which leaves one fewer of that score
 * at the far end. The result is then still the nearest survivors, and no fewer than were read less
 * the removed values.
 */
function withoutRemoved(scores: readonly number[], removed: readonly number[]): number[] {
  if (removed.length === 0) return [...scores];
  const toSkip = new Map<number, number>();
  for (const ms of removed) toSkip.set(ms, (toSkip.get(ms) ?? 0) + 1);
  return scores.filter((score) => {
    const left = toSkip.get(score);
    if (left === undefined || left === 0) return true;
    toSkip.set(score, left - 1);
    return false;
  });
}

/** The values at some positions (0-based, ascending) among the `count` values within some bounds. */
async function valuesIn(
  store: ReadModelStore,
  scopes: readonly ScopeTotals[],
  stat: DurationStat,
  bounds: Bounds,
  count: number,
  positions: readonly number[],
): Promise<(position: number) => number> {
  const scope = scopes[0];
  if (scopes.length === 1 && scope !== undefined && scope.indexed && startValuesOf(scope.scope) === undefined && scope.removedIn(stat, bounds).length === 0 && scope.addedIn(stat, bounds).length === 0) {
    return valuesAt(store, durationIndex(scope.scope, stat), stat, bounds, count, positions);
  }
  const lowest = Math.min(...positions);
  const highest = Math.max(...positions);
  // From the bottom, the first highest + 1 values; from the top, the last count − lowest.
  const reverse = count - lowest < highest + 1;
  const needed = reverse ? count - lowest : highest + 1;
  const { min, max } = bounds;
  // Values that leave the union: those removed from any scope's totals (equal scores are
  // interchangeable, so each may go from whichever index holds it), and below, the change months' and
  // the pairs' values at their start (each in some earlier month's index).
  const leaving = scopes.flatMap((scope) => scope.removedIn(stat, bounds));
  // Per index of start values, the keys of the scopes read that keep theirs there.
  const startValues = new Map<string, Set<string>>();
  for (const { scope } of scopes) {
    const kept = startValuesOf(scope);
    if (kept === undefined) continue;
    const index = kept.index(stat);
    const keys = startValues.get(index) ?? new Set<string>();
    startValues.set(index, keys.add(kept.key));
  }
  for (const [index, keys] of startValues) {
    for (const { member, score } of await store.range(index, { min, max, limit: Number.MAX_SAFE_INTEGER })) {
      if (keys.has(startValueKey(member))) leaving.push(score);
    }
  }
  const indexes = scopes.flatMap((scope) => (scope.indexed ? [durationIndex(scope.scope, stat)] : []));
  const scores = await store.unionScores(indexes, { min, max, reverse, limit: needed + leaving.length });
  // The union's `needed` + `leaving` nearest values hold its `needed` nearest survivors once those
  // leaving go (each, if read, as withoutRemoved argues); the added ones are in no index.
  const values = [...withoutRemoved(scores, leaving), ...scopes.flatMap((scope) => scope.addedIn(stat, bounds))];
  values.sort((a, b) => a - b);
  const kept = reverse ? values.slice(Math.max(0, values.length - needed)) : values.slice(0, needed);
  if (kept.length < needed) throw new TornAggregates(`${stat} holds fewer values in [${min}, ${max}] than its histogram counts`);
  return (position) => (reverse ? kept[position - (count - needed)]! : kept[position]!);
}
