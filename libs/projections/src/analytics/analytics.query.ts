import type { IndexEntry, ReadModelStore } from '@deals/read-models';
import {
  allScope,
  analyticsActiveIndex,
  analyticsActivityCounter,
  analyticsCapturesIndex,
  analyticsKeptCounter,
  analyticsGroupsCounter,
  type AnalyticsMeta,
  analyticsMeta,
  analyticsMetaCollection,
  analyticsRevisionsCounter,
  atMonthEnd,
  changeDayLastIndex,
  changeFirstIndex,
  changeLastIndex,
  changeScope,
  dealScopes,
  durationStatsIn,
  eventScope,
  isChangeScope,
  keptCaptures,
  keptChangeDays,
  keptChangeMonths,
  keptChangeSubBins,
  keptPeriodPairs,
  keptEventMonths,
  lateAfterMs,
  noShare,
  pairScope,
  periodSharesAt,
  periodShares,
  monthActivityIndex,
  revisionsMetaId,
  type ScopeCounters,
  scopeCounters,
  withCounters,
  ScopeTotals,
  shareAt,
  shareOf,
  storedStat,
  subBinCountsIn,
  type SubBinCountsOf,
  TornAggregates,
  totalsCounter,
} from './analytics-aggregates';
import type { AnalyticsMemo, KeptScan } from './analytics-memo';
import { analyticsDealCollection } from './analytics.projection';
import {
  type AnalyticsOptions,
  analyticsOfSums,
  analyticsWindow,
  type Basis,
  type CycleAnalytics,
  type CycleMetrics,
  createCycleAnalytics,
  type CycleSums,
  dealShares,
  dayBounds,
  dayMs,
  type DurationStat,
  type DurationStats,
  durationStatNames,
  type GroupBy,
  type GroupMetrics,
  metricsFrom,
  monthBounds,
  sortGroups,
  standingField,
  utcDay,
  utcMonth,
} from './cycle-metrics';
import { changedIn, type DealTimeline, timelineAt } from './deal-timeline';
import { ResidentTimelines } from './resident-timelines';
import { correctedSums, type ShareMove } from './scan-sums';

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
 * Deals changed after asOf that the pre-aggregates correct one by one; beyond this, a question
 * reaches so far back that scanning every timeline is the cheaper way.
 */
export const maxCorrectedDeals = 1_000;

/**
 * Deals changed since a window's start that a question the aggregates do not answer reads one by one
 * (period basis; a cohort window off month boundaries, or grouped by owner or source); beyond this,
 * scanning every timeline is the cheaper way.
 */
export const maxRecentDeals = 5_000;

/**
 * Deals a cohort question about an instant long past corrects one by one when it reads only the
 * capture months up to that instant (those still moving then, and those of its month captured after
 * it), and a question corrected from a kept scan (fromKeptScan); beyond this, scanning every
 * timeline is the cheaper way.
 */
export const maxPastDeals = 5_000;

/**
 * The read side of GET /analytics/cycle-length. Cohort questions about all deals, or about whole
 * capture months, read the pre-aggregates (analytics-aggregates.ts), corrected for the deals that
 * changed after asOf (asOf far back: the capture months up to it, and their deals changed since); a
 * period with no start is such a cohort question, and an ungrouped period from a month start adds
 * up the event months to its end; other windows that start recently, in either basis, add up the
 * timelines of the deals changed since; everything else (a window that starts long ago otherwise,
 * asOf far back by owner or source) scans every timeline, page by page, keeping only a few numbers
 * per deal, and with a memo keeps the scan's sums, which the next question of its kind (its basis
 * and grouping) at another window or horizon corrects (fromKeptScan), and keeps every timeline
 * resident, which a question no kept scan is near adds up from memory. All give the same figures, and
 * answers about a settled past are remembered: docs/analytics.md, "How queries stay fast".
 */
export async function queryCycleLength(store: ReadModelStore, request: CycleLengthRequest, now: Date, memo?: AnalyticsMemo): Promise<CycleLengthView> {
  const asOf = request.asOf ?? now;
  const options: AnalyticsOptions = {
    basis: request.basis,
    asOf: asOf.getTime(),
    from: request.from?.getTime(),
    to: request.to?.getTime(),
    groupBy: request.groupBy,
  };
  const figures = await figuresOf(store, startless(options), memo);
  return {
    basis: request.basis,
    groupBy: request.groupBy ?? null,
    from: request.from?.toISOString() ?? null,
    to: request.to?.toISOString() ?? null,
    asOf: asOf.toISOString(),
    ...figures,
  };
}

/**
 * A period with no start counts everything up to its end, each deal as it stood then: what the
 * cohort of every deal counts as of that instant (createCycleAnalytics adds the two up alike), which
 * the pre-aggregates answer, where a period is otherwise added up from timelines.
 */
function startless(options: AnalyticsOptions): AnalyticsOptions {
  if (options.basis !== 'period' || options.from !== undefined) return options;
  return { basis: 'cohort', asOf: analyticsWindow(options).horizon, groupBy: options.groupBy };
}

/**
 * The figures; with a memo, whole answers are remembered at both ends of the projection's clock
 * (AnalyticsMeta): about an instant at or after its latest event until the next commit
 * (currentAnswer), and about one more than `lateAfterMs` before it until an event arrives late
 * (settledAnswer), whether the aggregates, the recent deals or a scan answered them.
 */
async function figuresOf(store: ReadModelStore, options: AnalyticsOptions, memo: AnalyticsMemo | undefined): Promise<CycleAnalytics> {
  // The revision first: the meta document read after it is of that state or a later one (currentAnswer).
  const revision = memo && (await allRevision(store));
  const meta = memo && (await metaOf(store));
  if (!memo || meta?.latest === undefined) return (await computeFigures(store, options, memo)).figures;
  const { horizon } = analyticsWindow(options);
  if (revision !== undefined && horizon >= meta.latest) return currentAnswer(store, options, memo, meta.generation, revision);
  if (horizon < meta.latest - lateAfterMs) return settledAnswer(store, options, memo, meta, horizon);
  return (await computeFigures(store, options, memo)).figures;
}

/**
 * An answer about an instant the projection's clock has left behind: remembered under the question
 * with its horizon in place of asOf (a past period asked "as of now" is one question) and the count
 * of late events. Each timeline cut at the horizon is the same in every state with no late event
 * since, so figures added up from timelines hold even when commits land between their reads; the
 * totals' reads must all be of one state.
 */
function settledAnswer(store: ReadModelStore, options: AnalyticsOptions, memo: AnalyticsMemo, meta: AnalyticsMeta, horizon: number): Promise<CycleAnalytics> {
  const late = meta.late ?? 0;
  let stateUnchanged = async () => false;
  let fromTotals = false;
  return memo.settledAnswer(
    JSON.stringify([meta.generation, { ...options, asOf: horizon }]),
    late,
    async () => {
      stateUnchanged = await watchState(store);
      const computed = await computeFigures(store, options, memo);
      fromTotals = computed.fromTotals;
      return computed.figures;
    },
    async () => {
      const after = await metaOf(store);
      const settled = after?.generation === meta.generation && (after.late ?? 0) === late;
      return settled && (!fromTotals || (await stateUnchanged()));
    },
  );
}

/**
 * An answer about an instant at or after the latest event projected, remembered under the revision of
 * the scope `all`, which every change to a timeline moves: within a generation it names one state of
 * the read model. Every event of that state happened at or before the horizon (the meta document was
 * read after the revision), and the figures depend on the horizon only through the events before it,
 * so the answer holds for every later asker whose horizon is also at or after them: asOf is left out
 * of the key. Kept only if no commit moved the revision while it was computed.
 */
function currentAnswer(store: ReadModelStore, options: AnalyticsOptions, memo: AnalyticsMemo, generation: string, revision: number): Promise<CycleAnalytics> {
  return memo.currentAnswer(
    JSON.stringify([generation, { ...options, asOf: null }]),
    revision,
    async () => (await computeFigures(store, options, memo)).figures,
    async () => (await stateOf(store)) === JSON.stringify([generation, revision]),
  );
}

/** The revision of the scope `all`; undefined for a read model that counts none. */
async function allRevision(store: ReadModelStore): Promise<number | undefined> {
  return (await store.counters(analyticsRevisionsCounter, [allScope]))[allScope];
}

/**
 * The read model's state, named by its generation and the revision of the scope `all`: every commit
 * that changes any scope's totals changes `all` too (every deal is in it), so within a generation a
 * revision names one state. Undefined for a read model that counts no revisions.
 */
async function stateOf(store: ReadModelStore): Promise<string | undefined> {
  const revision = await allRevision(store);
  const generation = (await metaOf(store))?.generation;
  return revision === undefined || generation === undefined ? undefined : JSON.stringify([generation, revision]);
}

/**
 * Reads the read model's state now; the function it returns says whether it is still the same, that
 * is, whether no commit changed any scope's totals in between.
 */
async function watchState(store: ReadModelStore): Promise<() => Promise<boolean>> {
  const before = await stateOf(store);
  return async () => before !== undefined && (await stateOf(store)) === before;
}

/** The figures, from the aggregates' totals where they answer the question, else added up from timelines. */
async function computeFigures(store: ReadModelStore, options: AnalyticsOptions, memo: AnalyticsMemo | undefined): Promise<{ readonly figures: CycleAnalytics; readonly fromTotals: boolean }> {
  const aggregated = await fromAggregates(store, options, { memo });
  if (aggregated !== undefined) return { figures: aggregated, fromTotals: true };
  if (memo === undefined) return { figures: (await fromRecentDeals(store, options)) ?? (await scanTimelines(store, options)), fromTotals: false };
  // Asked about now again after a commit (a dashboard's), a window with more deals changed since its
  // start than a correction reads is worth a kept scan: the recent deals are all read again at every
  // commit, the kept scan's correction reads only the last hours'.
  const again = await askedAgainAboutNow(store, options, memo);
  const recent = await fromRecentDeals(store, options, again ? maxCorrectedDeals : maxRecentDeals);
  if (recent !== undefined) return { figures: recent, fromTotals: false };
  return { figures: await fromKeptScan(store, options, memo), fromTotals: false };
}

/** Whether a question about now of the same kind was asked before in this generation; notes that it was. */
async function askedAgainAboutNow(store: ReadModelStore, options: AnalyticsOptions, memo: AnalyticsMemo): Promise<boolean> {
  const meta = await metaOf(store);
  if (meta?.latest === undefined || analyticsWindow(options).horizon < meta.latest - lateAfterMs) return false;
  return memo.askedAboutNow(questionKey(meta.generation, options));
}

/**
 * A window that starts recently, from the timelines of the deals changed since its start, added up
 * as a scan adds them. In cohort basis those are all its deals: a deal captured in the window has
 * changed since (its capture). In period basis every other deal still counts where a period counts
 * whatever happened in the window (a deal, open, still in a stage); it has not changed since the
 * window started (a deal's events never go back in time), so those counts are its current ones: the
 * scopes' totals less the current shares of the deals changed since, read with the timelines from
 * one state. Undefined when more than `maxDeals` changed since, when reads were torn by a commit, or
 * for a read model without the activity index or the revisions.
 */
export async function fromRecentDeals(store: ReadModelStore, options: AnalyticsOptions, maxDeals = maxRecentDeals): Promise<CycleAnalytics | undefined> {
  const { from } = options;
  const period = options.basis === 'period';
  if (from === undefined || (period && analyticsWindow(options).horizon < from)) return undefined;
  if (!(await hasActivityIndex(store)) || (period && (await metaOf(store)) === undefined)) return undefined;
  // Counted first: beyond the limit they need not be read (a question that starts long ago reads 5,000 members for nothing).
  if ((await store.count(analyticsActiveIndex, from, undefined, maxDeals + 1)) > maxDeals) return undefined;
  const stateUnchanged = period ? await watchState(store) : undefined;
  const recent = await store.range(analyticsActiveIndex, { min: from, limit: maxDeals + 1 });
  if (recent.length > maxDeals) return undefined;
  const timelines = (await store.getMany(analyticsDealCollection, recent.map((entry) => entry.member), { frozen: true })).flatMap((document) => (document === undefined ? [] : [document as unknown as DealTimeline]));
  const analytics = createCycleAnalytics(options);
  for (const timeline of timelines) analytics.add(timeline);
  if (stateUnchanged !== undefined) {
    const standing = await standingCounts(store, options.groupBy, timelines);
    if (!(await stateUnchanged())) return undefined;
    for (const [group, fields] of standing) analytics.addCounts(fields, group);
  }
  return analytics.result();
}

/** The standing counts (`standingField`) of the deals not among `recent`, overall (under undefined) and per group with any such deal. */
async function standingCounts(store: ReadModelStore, groupBy: GroupBy | undefined, recent: readonly DealTimeline[]): Promise<Map<string | undefined, Map<string, number>>> {
  const overall = Object.entries(await store.counters(totalsCounter(allScope))).filter(([field]) => standingField(field));
  // Every field of a group's totals is one of the overall totals: the groups need read no others.
  const fields = overall.map(([field]) => field);
  const groups = groupBy === undefined ? [] : await groupScopesOf(store, groupBy);
  const totals = await Promise.all(groups.map((scope) => store.counters(totalsCounter(scope), fields)));
  const counts = new Map([[allScope, new Map(overall)], ...groups.map((scope, index) => [scope, new Map(Object.entries(totals[index]!))] as const)]);
  for (const deal of recent) {
    const scopesOfDeal = dealScopes(deal).flatMap((scope) => counts.get(scope) ?? []);
    // Its current standing share, which the totals hold: what it adds whatever it did in the window.
    for (const [field, by] of shareOf(deal).fields) {
      if (!standingField(field)) continue;
      for (const fields of scopesOfDeal) fields.set(field, (fields.get(field) ?? 0) - by);
    }
  }
  const standing = new Map<string | undefined, Map<string, number>>();
  for (const [scope, fields] of counts) {
    if (scope === allScope) standing.set(undefined, fields);
    else if ((fields.get('deals') ?? 0) > 0) standing.set(scope.slice(scope.indexOf(':') + 1), fields);
  }
  return standing;
}

async function metaOf(store: ReadModelStore): Promise<AnalyticsMeta | undefined> {
  return analyticsMeta(await store.get(analyticsMetaCollection, revisionsMetaId));
}

async function scanTimelines(store: ReadModelStore, options: AnalyticsOptions): Promise<CycleAnalytics> {
  return analyticsOfSums(await scanSums(store, options));
}

async function scanSums(store: ReadModelStore, options: AnalyticsOptions): Promise<CycleSums> {
  const analytics = createCycleAnalytics(options);
  for await (const { document } of store.scan(analyticsDealCollection, { pageSize })) {
    analytics.add(document as unknown as DealTimeline);
  }
  return analytics.sums();
}

/**
 * A question only a scan answers, from the sums of a scan kept for its kind (its basis and grouping):
 * the nearest one, whatever its window and horizon. The deals with an event between the two horizons,
 * or between the two windows' starts (or, in cohort basis, ends), have their share in the kept scan
 * taken out and their share in the question put in (scan-sums.ts); every other deal's share is the
 * same in both: its timeline cut at either horizon is the same, and what a window counts of it (its
 * capture in cohort basis, its closes and stage entries and exits in period basis) happened outside
 * the spans between the windows' bounds. So an analyst who moves a long window's start or end, or
 * a dashboard asking "from January, by owner, as of now" after each commit, pays for the deals that
 * moved in between, not for a scan.
 *
 * Sums are kept only at a settled horizon (more than `lateAfterMs` before the projection's latest
 * event), where each timeline cut is the same in every state until an event arrives late, and under
 * the count of late events. A question about now scans at the settled instant before it, keeps that,
 * and corrects from there, when few enough deals had an event since; its reads, then, must be of one
 * state. A question no kept scan is near (beyond `maxDeals` deals to correct) adds up the timelines
 * kept resident, read by the first such question. Scans as before where the change months' first and
 * last events do not list every deal (a read model projected before them), with more deals than the
 * memo keeps resident, or when commits tore both attempts.
 */
export async function fromKeptScan(store: ReadModelStore, options: AnalyticsOptions, memo: AnalyticsMemo, maxDeals = maxPastDeals): Promise<CycleAnalytics> {
  const meta = await metaOf(store);
  if (meta?.latest === undefined || !(await keptForEveryDeal(store, keptChangeMonths))) return scanTimelines(store, options);
  const { horizon } = analyticsWindow(options);
  const settledBefore = meta.latest - lateAfterMs;
  const settled = settledBefore - 1;
  const question: KeptScanQuestion = { kind: scanKind(meta.generation, options), generation: meta.generation, late: meta.late ?? 0, settled };
  const kept = nearestKept(memo.keptScans(question.kind), options, question.late);
  if (kept !== undefined) {
    const aboutNow = horizon >= settledBefore;
    // About now, sums kept more than an hour before the settled instant are first brought up to it
    // (and kept there): a question asked all day then corrects the last hours' deals, not the day's.
    const advanced = aboutNow && kept.horizon < settled - lateAfterMs ? await correctedScan(store, atHorizon(options, settled), memo, question, kept, true, maxDeals) : undefined;
    const corrected = await correctedScan(store, options, memo, question, advanced ?? kept, !aboutNow, maxDeals);
    if (corrected !== undefined) return analyticsOfSums(corrected.sums);
  }
  if (horizon < settledBefore) return analyticsOfSums((await scannedAndKept(store, options, memo, question, horizon, maxDeals)).sums);
  // About now: worth a scan at the settled instant before it only if the deals moved since are few enough to correct.
  if ((await dealsWithEventsIn(store, settled + 1, Math.min(horizon, meta.latest), maxDeals)) === undefined) return scanTimelines(store, options);
  const base = await scannedAndKept(store, options, memo, question, settled, maxDeals);
  const corrected = await correctedScan(store, options, memo, question, base, false, maxDeals);
  return corrected === undefined ? scanTimelines(store, options) : analyticsOfSums(corrected.sums);
}

interface KeptScanQuestion {
  /** The generation and the question's kind: its basis and grouping. */
  readonly kind: string;
  readonly generation: string;
  readonly late: number;
  /** The settled instant of the state the question started from: what a scan's timelines are exact up to. */
  readonly settled: number;
}

/** A question's kind in a generation: its basis and grouping, what a kept scan must share with it to be corrected to it. */
function scanKind(generation: string, options: AnalyticsOptions): string {
  return JSON.stringify([generation, options.basis, options.groupBy ?? null]);
}

/** The sums of a question (at its horizon, atHorizon) kept for later questions of its kind. */
function keptScanOf({ kind, late }: KeptScanQuestion, asked: AnalyticsOptions, sums: CycleSums): KeptScan {
  return { kind, from: asked.from, to: asked.to, horizon: asked.asOf, late, sums };
}

/** A question's options but its horizon, in a generation: what is asked again about now. */
function questionKey(generation: string, options: AnalyticsOptions): string {
  return JSON.stringify([generation, atHorizon(options, 0)]);
}

/** The question asked at another horizon: in period basis its end is its horizon (analyticsWindow). */
function atHorizon(options: AnalyticsOptions, horizon: number): AnalyticsOptions {
  return { ...options, asOf: horizon, to: options.basis === 'period' ? undefined : options.to };
}

/** The question a kept scan added up: the asked one with the kept window and horizon. */
function keptQuestion(options: AnalyticsOptions, kept: KeptScan): AnalyticsOptions {
  return { ...atHorizon(options, kept.horizon), from: kept.from, to: kept.to };
}

/**
 * The spans, as (after, until], whose events may make a deal's share differ between a kept scan and
 * the question at `horizon`: between the horizons, and between the windows' starts and (cohort basis)
 * ends, where what is counted starts or stops counting. Undefined when a bound is open in one and not
 * in the other.
 */
function spansBetween(kept: KeptScan, options: AnalyticsOptions, horizon: number): Array<readonly [number, number]> | undefined {
  const to = atHorizon(options, horizon).to;
  const spans: Array<readonly [number, number]> = [[Math.min(kept.horizon, horizon), Math.max(kept.horizon, horizon)]];
  for (const [was, is] of [[kept.from, options.from], [kept.to, to]] as const) {
    if (was === is) continue;
    if (was === undefined || is === undefined) return undefined;
    // A window holds its start and not its end: what happened at [min, max) counts in one only.
    spans.push([Math.min(was, is) - 1, Math.max(was, is) - 1]);
  }
  return spans;
}

/** The kept scan whose window and horizon are the fewest milliseconds from the question's, of those at its count of late events. */
function nearestKept(kept: readonly KeptScan[], options: AnalyticsOptions, late: number): KeptScan | undefined {
  const { horizon } = analyticsWindow(options);
  let nearest: { readonly scan: KeptScan; readonly distance: number } | undefined;
  for (const scan of kept) {
    const spans = scan.late === late ? spansBetween(scan, options, horizon) : undefined;
    if (spans === undefined) continue;
    const distance = spans.reduce((sum, [after, until]) => sum + until - after, 0);
    if (nearest === undefined || distance < nearest.distance) nearest = { scan, distance };
  }
  return nearest?.scan;
}

/**
 * The sums of a scan at a settled horizon, kept if no event arrived late while it read: added up
 * from the resident timelines (read first if none are), else, beyond the memo's capacity for them
 * or an event late meanwhile, from a scan of the store.
 */
async function scannedAndKept(
  store: ReadModelStore,
  options: AnalyticsOptions,
  memo: AnalyticsMemo,
  question: KeptScanQuestion,
  horizon: number,
  maxDeals: number,
): Promise<KeptScan> {
  const asked = atHorizon(options, horizon);
  const resident = await residentReaching(store, memo, question, maxDeals);
  const scanned = keptScanOf(question, asked, resident === undefined ? await scanSums(store, asked) : await resident.sums(asked));
  if (await unchangedLate(store, question)) memo.keepScan(scanned);
  return scanned;
}

/**
 * The resident timelines of the question's generation and count of late events, brought up to its
 * settled instant if they stop short of it: the deals with an event in between are read again, or,
 * beyond `maxDeals` such deals, every timeline. Read first if none are (residentRead). Undefined when
 * they cannot be kept.
 */
async function residentReaching(store: ReadModelStore, memo: AnalyticsMemo, question: KeptScanQuestion, maxDeals: number): Promise<ResidentTimelines | undefined> {
  const readAll = () => memo.residentOrRead(question.generation, question.late, () => residentRead(store, memo, question));
  const resident = await readAll();
  if (resident === undefined || resident.settled >= question.settled) return resident;
  const moved = await dealsWithEventsIn(store, resident.settled + 1, question.settled, maxDeals);
  if (moved === undefined) {
    memo.dropResident(resident);
    // A read another question started may stop short of this one's settled instant too.
    const again = await readAll();
    return again !== undefined && again.settled >= question.settled ? again : undefined;
  }
  const read = (await store.getMany(analyticsDealCollection, moved, { frozen: true })) as ReadonlyArray<DealTimeline | undefined>;
  const advanced = resident.advanced(question.settled, read);
  if (!(await unchangedLate(store, question))) return undefined;
  memo.keepResident(advanced);
  return advanced;
}

/**
 * Every timeline, read to stay resident up to the question's settled instant: none beyond the memo's
 * capacity (counted first, so that they are not read for nothing), or when an event arrived late meanwhile.
 */
async function residentRead(store: ReadModelStore, memo: AnalyticsMemo, question: KeptScanQuestion): Promise<ResidentTimelines | undefined> {
  const { deals = 0 } = await store.counters(totalsCounter(allScope), ['deals']);
  if (deals > memo.residentCapacity) return undefined;
  const timelines: DealTimeline[] = [];
  for await (const { document } of store.scan(analyticsDealCollection, { pageSize })) timelines.push(document as unknown as DealTimeline);
  return (await unchangedLate(store, question)) ? ResidentTimelines.of(question.generation, question.late, question.settled, timelines) : undefined;
}

async function unchangedLate(store: ReadModelStore, { generation, late }: KeptScanQuestion): Promise<boolean> {
  const meta = await metaOf(store);
  return meta?.generation === generation && (meta.late ?? 0) === late;
}

/**
 * The question's sums (at its horizon) from kept ones, corrected for the deals with an event between
 * their horizons or their windows' bounds (spansBetween); kept in their place when the question's
 * horizon is settled too. Undefined beyond `maxDeals`, when an event arrived late meanwhile, or, for a
 * horizon not settled (whose deals may move while they are read), when commits tore both attempts' reads.
 */
async function correctedScan(
  store: ReadModelStore,
  options: AnalyticsOptions,
  memo: AnalyticsMemo,
  question: KeptScanQuestion,
  kept: KeptScan,
  settled: boolean,
  maxDeals: number,
): Promise<KeptScan | undefined> {
  const { horizon } = analyticsWindow(options);
  const asked = atHorizon(options, horizon);
  const spans = spansBetween(kept, options, horizon);
  if (spans === undefined) return undefined;
  const [then, now] = [dealShares(keptQuestion(options, kept)), dealShares(asked)];
  for (let attempt = 0; attempt < (settled ? 1 : 2); attempt++) {
    const stateUnchanged = settled ? undefined : await watchState(store);
    // No event of the state read happened after its latest: the months after it need no reads.
    const latest = settled ? Infinity : ((await metaOf(store))?.latest ?? Infinity);
    const read = spans.map(([after, until]) => [after, Math.min(until, latest)] as const).filter(([after, until]) => after < until);
    const moved = new Set<string>();
    for (const [after, until] of read) {
      const deals = await dealsWithEventsIn(store, after + 1, until, maxDeals);
      if (deals === undefined) return undefined;
      for (const deal of deals) moved.add(deal);
      if (moved.size > maxDeals) return undefined;
    }
    const moves: ShareMove[] = [];
    for (const document of await store.getMany(analyticsDealCollection, [...moved], { frozen: true })) {
      const deal = document as unknown as DealTimeline | undefined;
      // The indexes list some deals with no event in a span: later on the day it ends in, or (months only) before and after it.
      if (deal === undefined || !read.some(([after, until]) => changedIn(deal, after, until))) continue;
      moves.push({ was: then(deal), is: now(deal) });
    }
    // A timeline cut at the kept horizon is the one the kept sums added up only while no event arrives late.
    if (!(await unchangedLate(store, question))) return undefined;
    if (stateUnchanged !== undefined && !(await stateUnchanged())) continue;
    const corrected = keptScanOf(question, asked, correctedSums(kept.sums, moves));
    if (settled) memo.keepScan(corrected, kept);
    return corrected;
  }
  return undefined;
}

export interface AggregateOptions {
  /** Remembers figures per scope revision (see AnalyticsMemo); without it every question reads the aggregates. */
  readonly memo?: AnalyticsMemo | undefined;
  readonly maxCorrected?: number;
  readonly maxPast?: number;
}

/**
 * What the pre-aggregates read for a question, if they answer it: the deals it counts (`asked`,
 * before narrowing to those captured by the horizon) and the instant they stand at. A period from a
 * UTC month start, ungrouped, adds up what happened in the months from its start to its horizon
 * (`events`) and what stood at the horizon (the cohort of every deal then): the deals changed after
 * the horizon are corrected in both, and those are all that a month's events after it hold.
 */
interface AggregateQuestion {
  readonly asked: MonthWindow;
  readonly horizon: number;
  /** Period basis: the event months' scopes; undefined in cohort basis. */
  readonly events?: readonly string[];
}

function aggregateQuestion(options: AnalyticsOptions): AggregateQuestion | undefined {
  if (options.basis === 'period') {
    if (options.groupBy !== undefined || options.from === undefined || monthStart(options.from) === undefined) return undefined;
    const { horizon } = analyticsWindow(options);
    return { asked: 'all', horizon, events: monthsBetween(options.from, horizon).map(eventScope) };
  }
  const asked = monthWindow(options);
  if (asked === undefined || (asked !== 'all' && options.groupBy !== undefined && options.groupBy !== 'month')) return undefined;
  return { asked, horizon: options.asOf };
}

/** The UTC months from the one of `from` to the one of `until`, both included; none when `until` is earlier. */
function monthsBetween(from: number, until: number): string[] {
  const months: string[] = [];
  for (let month = monthBounds(from).first; month <= until; month = monthBounds(month).next) months.push(utcMonth(month));
  return months;
}

/** The figures from the pre-aggregates, or undefined when the question is not one they answer. */
export async function fromAggregates(store: ReadModelStore, options: AnalyticsOptions, { memo, maxCorrected = maxCorrectedDeals, maxPast = maxPastDeals }: AggregateOptions = {}): Promise<CycleAnalytics | undefined> {
  const question = aggregateQuestion(options);
  if (question === undefined) return undefined;
  const { asked, horizon, events } = question;
  // Read first: the reads below see this state or a later one, and a later one has no fewer deals
  // changed after the horizon, so figures with nothing to correct hold at these revisions too.
  const revisions = memo && (await revisionsOf(store));
  if (!(await hasActivityIndex(store)) || (events !== undefined && !(await keptForEveryDeal(store, keptEventMonths)))) return undefined;
  let window: MonthWindow = asked;
  // Counted first: beyond the limit, the deals changed since are not the ones to correct, and need not be read.
  const many = (await store.count(analyticsActiveIndex, horizon + 1, undefined, maxCorrected + 1)) > maxCorrected;
  let past: PastDeals = { changed: many ? [] : await store.range(analyticsActiveIndex, { min: horizon + 1, limit: maxCorrected + 1 }), captured: [], fresh: undefined };
  const countersOf = memo && revisions ? rememberedCounters(store, memo, revisions) : (scope: string) => countersIn(store, scope);
  if (many || past.changed.length > maxCorrected) {
    if (asked === 'all' && options.groupBy === undefined) {
      const subBins = memo && revisions ? new SubBinReads(store, memo, revisions) : undefined;
      const subBinsOf = subBins?.of ?? ((scope: string, stat: DurationStat, bin: number) => subBinCountsIn(store, scope, stat, bin));
      const figures =
        events === undefined ? await fromChangeMonths(store, horizon, maxPast, countersOf, subBinsOf) : await fromPeriodPairs(store, options.from!, horizon, maxPast, countersOf);
      await subBins?.remember();
      if (figures !== undefined) return { ...figures, groups: [] };
    }
    const captured = await capturedBy(store, horizon, options.groupBy, asked, maxPast, events === undefined);
    if (captured === undefined) return undefined;
    ({ window, ...past } = captured);
  }
  const { changed, captured, fresh } = past;
  const nothingToCorrect = changed.length === 0 && captured.length === 0 && fresh === undefined;
  const remembered = memo && revisions && nothingToCorrect ? rememberedFigures(store, memo, revisions, events) : undefined;
  return retriedIfTorn(async () => {
    const scopes = await questionScopes(store, window, options.groupBy);
    const figures = remembered ?? (await correctedFigures(store, horizon, scopes, events, past, countersOf));
    return answer(scopes, figures);
  });
}

/** A torn read (a commit between two reads) is tried again once; undefined then, for a scan to answer. */
async function retriedIfTorn<T>(compute: () => Promise<T | undefined>): Promise<T | undefined> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return await compute();
    } catch (error) {
      if (!(error instanceof TornAggregates)) throw error;
    }
  }
  return undefined;
}

/**
 * Whether a kind of what is kept from each deal's capture on (analyticsKeptCounter) holds every deal:
 * not so in a read model projected before it existed, until a rebuild.
 */
async function keptForEveryDeal(store: ReadModelStore, kind: string): Promise<boolean> {
  const [kept, totals] = await Promise.all([store.counters(analyticsKeptCounter, [kind]), store.counters(totalsCounter(allScope), ['deals'])]);
  return kept[kind] !== undefined && kept[kind] === totals['deals'];
}

/** No deal in the index: an empty read model, or one built before the aggregates. A scan answers either. */
async function hasActivityIndex(store: ReadModelStore): Promise<boolean> {
  return (await store.range(analyticsActiveIndex, { limit: 1 })).length > 0;
}

/** The figures of some scopes together; null for a group with no deals. */
type FiguresOf = (scopes: readonly string[], group: boolean) => Promise<CycleMetrics | null>;

interface Revisions {
  readonly generation: string;
  /** The revisions of some scopes, as one string. */
  of(scopes: readonly string[]): string;
}

/** The scopes' revisions (some scopes', or every one's), or undefined for a read model that counts none (built before they were). */
async function revisionsOf(store: ReadModelStore, only?: readonly string[]): Promise<Revisions | undefined> {
  const generation = (await metaOf(store))?.generation;
  if (generation === undefined) return undefined;
  const counts = await store.counters(analyticsRevisionsCounter, only);
  return { generation, of: (scopes) => JSON.stringify(scopes.map((scope) => counts[scope] ?? 0)) };
}

function rememberedFigures(store: ReadModelStore, memo: AnalyticsMemo, revisions: Revisions, events: readonly string[] | undefined): FiguresOf {
  const countersOf = latestCounters(store, memo, revisions.generation);
  return (scopes, group) => {
    const read = [...scopes, ...(events ?? [])];
    return memo.figures(
      JSON.stringify([revisions.generation, scopes, events ?? null]),
      revisions.of(read),
      async () => {
        const totals = await totalsOfEach(read, countersOf);
        return figuresOfTotals(store, totals.slice(0, scopes.length), events && totals.slice(scopes.length), group);
      },
      async () => {
        const now = await revisionsOf(store, read);
        return now?.generation === revisions.generation ? now.of(read) : undefined;
      },
    );
  };
}

/** Every deal; or the capture months from `from` (inclusive) to `to` (exclusive), `YYYY-MM`. */
type MonthWindow = 'all' | { readonly from: string; readonly to: string };

/**
 * A cohort question about an instant long past, for which too many deals changed since to correct
 * them all: only the deals captured by asOf count, so it reads the capture months up to asOf's, and
 * corrects only their deals changed after it, which those months' activity indexes list (the deals
 * of asOf's month captured after it among them: they count as not there yet). Those are the deals
 * still moving at asOf, not every deal since. Undefined for a grouping by owner or source (their
 * scopes hold every month), beyond `maxDeals`, or when a month's index does not hold every deal of
 * the month (a read model projected before the indexes existed).
 */
async function capturedBy(
  store: ReadModelStore,
  horizon: number,
  groupBy: GroupBy | undefined,
  asked: MonthWindow,
  maxDeals: number,
  byCaptures: boolean,
): Promise<({ readonly window: MonthWindow } & PastDeals) | undefined> {
  if (groupBy === 'owner' || groupBy === 'source') return undefined;
  const monthStarts = monthBounds(horizon);
  const own = utcMonth(horizon);
  const end = utcMonth(monthStarts.next);
  const window = { from: asked === 'all' ? '' : asked.from, to: asked === 'all' || asked.to > end ? end : asked.to };
  const [groups, activity] = await Promise.all([store.counters(analyticsGroupsCounter), store.counters(analyticsActivityCounter)]);
  const months = monthsIn(groups, window);
  if (months.some((month) => groups[`month:${month}`] !== activity[month])) return undefined;
  const captured = byCaptures && months.includes(own) ? await capturedEarly(store, horizon, monthStarts, maxDeals) : undefined;
  const changed: IndexEntry[] = [];
  for (const month of months) {
    if (captured !== undefined && month === own) continue;
    changed.push(...(await store.range(monthActivityIndex(month), { min: horizon + 1, limit: maxDeals + 1 - changed.length - (captured?.length ?? 0) })));
    if (changed.length + (captured?.length ?? 0) > maxDeals) return undefined;
  }
  return { window, changed, captured: captured ?? [], fresh: captured && `month:${own}` };
}

/**
 * The deals of the horizon's own month captured by then, when they are fewer than those captured
 * after it (the horizon early in its month): added one by one to an empty month, rather than the
 * month's totals corrected for every deal not there yet. Undefined when they are not fewer, when the
 * capture index does not hold every deal (a read model projected before it), or beyond `maxDeals`.
 */
async function capturedEarly(
  store: ReadModelStore,
  horizon: number,
  { first, next }: { readonly first: number; readonly next: number },
  maxDeals: number,
): Promise<IndexEntry[] | undefined> {
  if (!(await keptForEveryDeal(store, keptCaptures))) return undefined;
  // Each count stops where its answer is known: past `maxDeals`, or past the other's.
  const before = await store.count(analyticsCapturesIndex, first, horizon, maxDeals + 1);
  if (before > maxDeals || (await store.count(analyticsCapturesIndex, horizon + 1, next - 1, before + 1)) <= before) return undefined;
  // One more than the limit: a capture landing after the count shows, and capturedBy gives up.
  return store.range(analyticsCapturesIndex, { min: first, max: horizon, limit: maxDeals + 1 });
}

/**
 * Every deal as of an instant long past, from the change months: each holds how every deal's share
 * moved over it, so those before the instant's month add up to the cohort at that month's start, and
 * with its own month, at its end. From the nearer of the two, only the deals that changed between it
 * and the instant are corrected (their share there out, their share at the instant in), whatever
 * number of deals were in flight. Undefined for a read model projected before the change months
 * existed, beyond `maxDeals`, or when commits tore both attempts' reads.
 */
async function fromChangeMonths(store: ReadModelStore, horizon: number, maxDeals: number, countersOf: CountersOf, subBinsOf: SubBinCountsOf): Promise<CycleMetrics | undefined> {
  if (!(await keptForEveryDeal(store, keptChangeMonths))) return undefined;
  const subBinned = await keptForEveryDeal(store, keptChangeSubBins);
  const nearer = nearerMonthEnd(horizon);
  const { boundary } = nearer;
  return retriedIfTorn(async () => {
    const moved = await movedBetween(store, nearer, horizon, maxDeals);
    if (moved === undefined) return undefined;
    const totals = await totalsOfEach(await changeMonthsUpTo(store, nearer), countersOf);
    // The moves are in no totals read: the values they remove leave the union (valuesIn).
    const moves = new ScopeTotals('moved', scopeCounters({}), false);
    const timelines = await store.getMany(analyticsDealCollection, moved, { frozen: true });
    for (const document of timelines) {
      if (document === undefined) continue;
      const deal = document as unknown as DealTimeline;
      const then = atMonthEnd(deal, boundary);
      moves.correct(then === undefined ? noShare : shareOf(then), shareAt(deal, horizon));
    }
    return metricsOf(store, [...totals, moves], undefined, subBinned ? subBinsOf : undefined);
  });
}

/** The end of the horizon's UTC month nearer to it: the instant before the month (`fromStart`) or its last. */
interface NearerEnd {
  readonly month: string;
  readonly fromStart: boolean;
  readonly boundary: number;
}

function nearerMonthEnd(horizon: number): NearerEnd {
  const { first, next } = monthBounds(horizon);
  const fromStart = horizon - first < next - 1 - horizon;
  return { month: utcMonth(horizon), fromStart, boundary: fromStart ? first - 1 : next - 1 };
}

/** The deals with an event between the nearer end and the horizon; undefined beyond `maxDeals`. */
function movedBetween(store: ReadModelStore, { fromStart, boundary }: NearerEnd, horizon: number, maxDeals: number): Promise<string[] | undefined> {
  return fromStart ? dealsWithEventsIn(store, boundary + 1, horizon, maxDeals) : dealsWithEventsIn(store, horizon + 1, boundary, maxDeals);
}

/** A division of business time whose units index each deal's last event in them, and perhaps its first. */
interface EventsCalendar {
  bounds(time: number): { readonly first: number; readonly next: number };
  firstIndex?: (time: number) => string;
  lastIndex(time: number): string;
  /** The finer calendar a span inside one unit is read by, if every deal is kept in it. */
  readonly inside?: { readonly calendar: EventsCalendar; readonly kept: string };
}

const eventDays: EventsCalendar = {
  bounds: dayBounds,
  lastIndex: (time) => changeDayLastIndex(utcDay(time)),
};

const eventMonths: EventsCalendar = {
  bounds: monthBounds,
  firstIndex: (time) => changeFirstIndex(utcMonth(time)),
  lastIndex: (time) => changeLastIndex(utcMonth(time)),
  inside: { calendar: eventDays, kept: keptChangeDays },
};

/**
 * The deals with an event at a time from `from` to `until` (both included), from each UTC month's
 * first and last events (`analytics:cf`, `analytics:cl`): exactly those where the span starts at a
 * month's start or ends at its end (Math.max below). A span inside a month is read a day at a time
 * from each day's last events (`analytics:dl`): exactly those for a day it covers to the end, and
 * for the day it ends in, every deal with an event that day from the span's start on, of which those
 * with none in the span are read and left out. Undefined beyond `maxDeals`.
 */
async function dealsWithEventsIn(store: ReadModelStore, from: number, until: number, maxDeals: number, calendar = eventMonths): Promise<string[] | undefined> {
  const deals = new Set<string>();
  for (let unit = calendar.bounds(from).first; unit <= until; unit = calendar.bounds(unit).next) {
    const { first, next } = calendar.bounds(unit);
    const span = { start: Math.max(from, first), end: Math.min(until, next - 1) };
    const { firstIndex, inside } = calendar;
    const members =
      firstIndex !== undefined && span.start === first
        ? membersOf(await store.range(firstIndex(unit), { max: span.end, limit: maxDeals + 1 }))
        : firstIndex === undefined || span.end === next - 1
          ? membersOf(await store.range(calendar.lastIndex(unit), { min: span.start, limit: maxDeals + 1 }))
          : inside !== undefined && (await keptForEveryDeal(store, inside.kept))
            ? await dealsWithEventsIn(store, span.start, span.end, maxDeals, inside.calendar)
            : await straddling(store, { ...span, firstIndex: firstIndex(unit), lastIndex: calendar.lastIndex(unit) }, maxDeals);
    if (members === undefined) return undefined;
    for (const member of members) deals.add(member);
    if (deals.size > maxDeals) return undefined;
  }
  return [...deals];
}

/** Entries of a month's first and last events one span inside it reads to find the deals with an event in it. */
const maxStraddleReads = 4 * maxPastDeals;

interface SpanInside {
  readonly start: number;
  readonly end: number;
  /** The month's first and last events. */
  readonly firstIndex: string;
  readonly lastIndex: string;
}

/**
 * Inside one month of a read model projected before the day indexes, the deals whose first event in
 * it is at or before the span's end and whose last is at or after its start: those with an event in
 * the span, and those with events before and after it and none in it, whose correction changes
 * nothing. Either index alone lists them among many more (mid-month, about half its deals), so the
 * two are read and met, unless one alone lists few enough. Undefined beyond `maxDeals`, or when
 * either lists more than `maxStraddleReads`.
 */
async function straddling(store: ReadModelStore, { start, end, firstIndex, lastIndex }: SpanInside, maxDeals: number): Promise<string[] | undefined> {
  const [byFirst, byLast] = await Promise.all([store.count(firstIndex, undefined, end, maxStraddleReads + 1), store.count(lastIndex, start, undefined, maxStraddleReads + 1)]);
  if (Math.min(byFirst, byLast) <= maxDeals) {
    return membersOf(byFirst <= byLast ? await store.range(firstIndex, { max: end, limit: maxDeals + 1 }) : await store.range(lastIndex, { min: start, limit: maxDeals + 1 }));
  }
  if (Math.max(byFirst, byLast) > maxStraddleReads) return undefined;
  // Counted and read in two states, perhaps: the reads' own limits say whether they hold every entry.
  const limit = maxStraddleReads + 1;
  const [startedBy, endedAfter] = await Promise.all([store.range(firstIndex, { max: end, limit }), store.range(lastIndex, { min: start, limit })]);
  if (Math.max(startedBy.length, endedAfter.length) === limit) return undefined;
  const after = new Set(membersOf(endedAfter));
  return membersOf(startedBy).filter((member) => after.has(member));
}

const membersOf = (entries: readonly IndexEntry[]): string[] => entries.map(({ member }) => member);

/** The change months that add up to the cohort at the nearer end: those before the month, or up to it. */
async function changeMonthsUpTo(store: ReadModelStore, { month, fromStart }: NearerEnd): Promise<string[]> {
  const own = changeScope(month);
  // Scope names sort as their months do.
  return Object.keys(await store.counters(analyticsGroupsCounter)).filter((scope) => isChangeScope(scope) && (fromStart ? scope < own : scope <= own));
}

function totalsOfEach(scopes: readonly string[], countersOf: CountersOf): Promise<ScopeTotals[]> {
  return Promise.all(scopes.map(async (scope) => new ScopeTotals(scope, await countersOf(scope))));
}

/**
 * A period from a month start, every deal, ungrouped, when too many deals changed after its horizon
 * to correct them all: what happened in its months as it stood at the nearer end of the horizon's
 * month is the sum of the pairs of those months (pairScope), and what stood there the sum of the
 * change months, as fromChangeMonths takes them. Only the deals with an event between that end and
 * the horizon are corrected, in both. Undefined for a read model projected before the pairs existed,
 * beyond `maxDeals`, or when commits tore both attempts' reads.
 */
async function fromPeriodPairs(store: ReadModelStore, from: number, horizon: number, maxDeals: number, countersOf: CountersOf): Promise<CycleMetrics | undefined> {
  if (!(await keptForEveryDeal(store, keptPeriodPairs))) return undefined;
  const nearer = nearerMonthEnd(horizon);
  const { boundary } = nearer;
  // The months a pair of which holds what happened up to the boundary; and those the moved deals touch.
  const settled = monthsBetween(from, boundary);
  const asked = monthsBetween(from, horizon);
  const pairs = settled.flatMap((pairMonth, index) => settled.slice(index).map((during) => pairScope(pairMonth, during)));
  return retriedIfTorn(async () => {
    const moved = await movedBetween(store, nearer, horizon, maxDeals);
    if (moved === undefined) return undefined;
    const [standing, everyPair] = await Promise.all([totalsOfEach(await changeMonthsUpTo(store, nearer), countersOf), totalsOfEach(pairs, countersOf)]);
    // Most of a long period's pairs are months no event reached back from: their indexes are not read.
    const happened = everyPair.filter((pair) => pair.touched);
    // The moves are in no totals read: the values they remove leave the union (valuesIn).
    const movedStanding = new ScopeTotals('moved', scopeCounters({}), false);
    const movedEvents = new ScopeTotals('moved events', scopeCounters({}), false);
    const timelines = await store.getMany(analyticsDealCollection, moved, { frozen: true });
    for (const document of timelines) {
      if (document === undefined) continue;
      const deal = document as unknown as DealTimeline;
      const then = atMonthEnd(deal, boundary);
      const [was, is] = [then === undefined ? undefined : periodShares(then), periodSharesAt(deal, horizon)];
      movedStanding.correct(was?.standing ?? noShare, is?.standing);
      for (const askedMonth of asked) {
        const [before, after] = [was?.months.get(askedMonth), is?.months.get(askedMonth)];
        if (before !== undefined || after !== undefined) movedEvents.correct(before ?? noShare, after);
      }
    }
    return metricsOf(store, [...standing, movedStanding], [...happened, movedEvents]);
  });
}

/**
 * The deals a question corrects: those changed after its horizon (current share out, share then in),
 * and those added whole (`captured`: their share then in) to a scope whose totals are not read
 * (`fresh`).
 */
interface PastDeals {
  readonly changed: IndexEntry[];
  readonly captured: readonly IndexEntry[];
  readonly fresh: string | undefined;
}

/** 'all' without a window; the capture months it covers when both ends are UTC month starts; else undefined. */
function monthWindow({ from, to }: AnalyticsOptions): MonthWindow | undefined {
  if (from === undefined && to === undefined) return 'all';
  const start = from === undefined ? '' : monthStart(from);
  const end = to === undefined ? '\uffff' : monthStart(to);
  return start === undefined || end === undefined ? undefined : { from: start, to: end };
}

function monthStart(time: number): string | undefined {
  const date = new Date(time);
  return date.getUTCDate() === 1 && time % dayMs === 0 ? utcMonth(time) : undefined;
}

/** The scopes a question reads: those its overall figures add up, and one per group. */
interface QuestionScopes {
  readonly overall: readonly string[];
  readonly groups: readonly string[];
}

async function questionScopes(store: ReadModelStore, window: MonthWindow, groupBy: GroupBy | undefined): Promise<QuestionScopes> {
  if (window !== 'all') {
    const months = await monthScopes(store, window);
    return { overall: months, groups: groupBy === undefined ? [] : months };
  }
  return { overall: [allScope], groups: groupBy === undefined ? [] : await groupScopesOf(store, groupBy) };
}

async function answer({ overall, groups }: QuestionScopes, figuresOf: FiguresOf): Promise<CycleAnalytics> {
  const overallFigures = (await figuresOf(overall, false))!;
  const groupFigures: GroupMetrics[] = [];
  for (const scope of groups) {
    const figures = await figuresOf([scope], true);
    if (figures !== null) groupFigures.push({ key: scope.slice(scope.indexOf(':') + 1), ...figures });
  }
  return { ...overallFigures, groups: sortGroups(groupFigures) };
}

/**
 * A scope's counters as read at the revision the question started from, remembered until the scope
 * changes. The question reads them no earlier than it read that revision, whether from memory or not.
 */
function rememberedCounters(store: ReadModelStore, memo: AnalyticsMemo, revisions: Revisions): CountersOf {
  const latest = latestCounters(store, memo, revisions.generation);
  return (scope) => memo.scopeCounters(JSON.stringify([revisions.generation, scope]), revisions.of([scope]), () => latest(scope), unmoved(store, revisions, scope));
}

/** A scope's counters brought up to date from those last read (AnalyticsMemo.latestCounters): only the fields changed since are read. */
function latestCounters(store: ReadModelStore, memo: AnalyticsMemo, generation: string): CountersOf {
  return async (scope) => {
    const key = JSON.stringify([generation, scope]);
    const kept = memo.latestCounters(key);
    const { fields, whole, stamp } = await store.countersSince(totalsCounter(scope), kept?.stamp);
    const counters = whole || kept === undefined ? scopeCounters(fields) : withCounters(kept.counters, fields);
    if (stamp !== undefined) memo.keepLatestCounters(key, stamp, counters);
    return counters;
  };
}

type CountersOf = (scope: string) => Promise<ScopeCounters>;

/** Whether a scope's revision is still the one the question started from. */
function unmoved(store: ReadModelStore, revisions: Revisions, scope: string): () => Promise<boolean> {
  return async () => {
    const now = await revisionsOf(store, [scope]);
    return now?.generation === revisions.generation && now.of([scope]) === revisions.of([scope]);
  };
}

/**
 * The sub-bin counts a question reads: those remembered at the revision of their scope the question
 * started from, else read. Once it has read them all, `remember` keeps those of the scopes whose
 * revision has not moved since (revisions only grow within a generation, so it had not moved when
 * they were read either): one check of a few revisions rather than one per count.
 */
class SubBinReads {
  private readonly read: Array<{ readonly key: string; readonly scope: string; readonly counts: ReadonlyMap<number, number> }> = [];

  constructor(
    private readonly store: ReadModelStore,
    private readonly memo: AnalyticsMemo,
    private readonly revisions: Revisions,
  ) {}

  readonly of: SubBinCountsOf = async (scope, stat, bin) => {
    const key = JSON.stringify([this.revisions.generation, scope, stat, bin]);
    const known = this.memo.subBinCounts(key, this.revisions.of([scope]));
    if (known !== undefined) return known;
    const counts = await subBinCountsIn(this.store, scope, stat, bin);
    this.read.push({ key, scope, counts });
    return counts;
  };

  async remember(): Promise<void> {
    if (this.read.length === 0) return;
    const now = await revisionsOf(this.store, [...new Set(this.read.map(({ scope }) => scope))]);
    if (now?.generation !== this.revisions.generation) return;
    for (const { key, scope, counts } of this.read.splice(0)) {
      const revision = this.revisions.of([scope]);
      if (now.of([scope]) === revision) this.memo.rememberSubBins(key, revision, counts);
    }
  }
}

/** Every scope the question reads, with the deals changed after the horizon taken back to their state then. */
async function correctedFigures(
  store: ReadModelStore,
  horizon: number,
  scopes: QuestionScopes,
  events: readonly string[] | undefined,
  { changed, captured, fresh }: PastDeals,
  countersOf: CountersOf,
): Promise<FiguresOf> {
  const totals = new Map<string, ScopeTotals>();
  await Promise.all(
    [...new Set([...scopes.overall, ...scopes.groups, ...(events ?? [])])].map(async (scope) => totals.set(scope, scope === fresh ? new ScopeTotals(scope, scopeCounters({}), false) : new ScopeTotals(scope, await countersOf(scope)))),
  );
  const member = (entry: IndexEntry) => entry.member;
  await correct(store, horizon, totals, events !== undefined, changed.map(member), captured.map(member));
  const named = (names: readonly string[]) => names.map((scope) => totals.get(scope) ?? new ScopeTotals(scope, scopeCounters({})));
  return (names, group) => figuresOfTotals(store, named(names), events && named(events), group);
}

async function countersIn(store: ReadModelStore, scope: string): Promise<ScopeCounters> {
  return scopeCounters(await store.counters(totalsCounter(scope)));
}

/** The figures of some scopes' totals together (in a period, with its event months'); null for a group with no deals. */
async function figuresOfTotals(store: ReadModelStore, totals: readonly ScopeTotals[], events: readonly ScopeTotals[] | undefined, group: boolean): Promise<CycleMetrics | null> {
  return group && (totals[0]!.fields.get('deals') ?? 0) <= 0 ? null : metricsOf(store, totals, events);
}

/**
 * Takes out the current share of each deal changed after the horizon and puts back its share then;
 * with `periods`, in the event months' scopes too. The `added` deals are in no totals read (a month
 * whose totals start empty, cohort questions only): only their share then goes in.
 */
async function correct(
  store: ReadModelStore,
  horizon: number,
  totals: ReadonlyMap<string, ScopeTotals>,
  periods: boolean,
  changedIds: readonly string[],
  addedIds: readonly string[],
): Promise<void> {
  const ids = [...changedIds, ...addedIds];
  if (ids.length === 0) return;
  const timelines = await store.getMany(analyticsDealCollection, ids, { frozen: true });
  for (const [index, document] of timelines.entries()) {
    if (document === undefined) continue;
    const current = document as unknown as DealTimeline;
    const scopes = dealScopes(current).flatMap((scope) => totals.get(scope) ?? []);
    if (scopes.length === 0) continue;
    const then = timelineAt(current, horizon);
    if (!periods) {
      // An added deal's current share is in no totals read: only its share then goes in.
      const shares = { current: index < changedIds.length ? shareOf(current) : noShare, then: then === undefined ? undefined : shareOf(then) };
      for (const scope of scopes) scope.correct(shares.current, shares.then);
      continue;
    }
    // A period takes only what stood at its horizon from the deals' scopes (metricsOf).
    const shares = { current: periodShares(current), then: then === undefined ? undefined : periodShares(then) };
    for (const scope of scopes) scope.correct(shares.current.standing, shares.then?.standing);
    for (const month of new Set([...shares.current.months.keys(), ...(shares.then?.months.keys() ?? [])])) {
      totals.get(eventScope(month))?.correct(shares.current.months.get(month) ?? noShare, shares.then?.months.get(month));
    }
  }
}

/**
 * The figures of some scopes' totals added up. In a period, `events` holds what happened in it,
 * durations included; the scopes give only what stood at its end (standingField).
 */
async function metricsOf(store: ReadModelStore, scopes: readonly ScopeTotals[], events?: readonly ScopeTotals[], subBinsRead?: SubBinCountsOf): Promise<CycleMetrics> {
  const fields = new Map<string, number>();
  const add = (field: string, value: number) => fields.set(field, (fields.get(field) ?? 0) + value);
  for (const scope of scopes) for (const [field, value] of scope.fields) if (events === undefined || standingField(field)) add(field, value);
  for (const scope of events ?? []) for (const [field, value] of scope.fields) add(field, value);
  const durations = new Map<DurationStat, DurationStats>();
  const stored = [...new Set(durationStatNames.map(storedStat))];
  await Promise.all(stored.map(async (stat) => durations.set(stat, await durationStatsIn(store, events ?? scopes, stat, subBinsRead))));
  return metricsFrom(fields, (stat) => durations.get(storedStat(stat))!);
}

async function groupScopesOf(store: ReadModelStore, groupBy: GroupBy): Promise<string[]> {
  const prefix = `${groupBy}:`;
  return Object.keys(await store.counters(analyticsGroupsCounter)).filter((scope) => scope.startsWith(prefix));
}

/** The scopes of the capture months in [from, to) that have deals. */
async function monthScopes(store: ReadModelStore, window: { readonly from: string; readonly to: string }): Promise<string[]> {
  return monthsIn(await store.counters(analyticsGroupsCounter), window).map((month) => `month:${month}`);
}

/** The capture months in [from, to) among the groups' scopes (`analytics:groups`). */
function monthsIn(groups: Readonly<Record<string, number>>, window: { readonly from: string; readonly to: string }): string[] {
  return Object.keys(groups).flatMap((scope) => {
    const month = scope.startsWith('month:') ? scope.slice('month:'.length) : undefined;
    return month !== undefined && month >= window.from && month < window.to ? [month] : [];
  });
}
