import { RecentMap } from '@deals/platform';
import { type Remembered, sharedAnswer } from '../shared-answer';
import type { ScopeCounters } from './analytics-aggregates';
import type { CycleAnalytics, CycleMetrics, CycleSums } from './cycle-metrics';
import { maxResidentDeals, type ResidentTimelines } from './resident-timelines';

/** A scan's sums (CycleSums) at a settled horizon, kept for questions that differ from it by a few deals. */
export interface KeptScan {
  /** The kind of question it answers: what a question must share with it to be corrected from it (analytics.query.ts). */
  readonly kind: string;
  /** Its window: a question of its kind with another window is corrected for the deals with an event between the two starts, or ends. */
  readonly from: number | undefined;
  readonly to: number | undefined;
  readonly horizon: number;
  /** The count of late events when it was scanned: one more, and the timelines it cut may have changed. */
  readonly late: number;
  readonly sums: CycleSums;
}

/**
 * The durations a kept scan may hold: each deal counted keeps about a dozen (each of its statistics,
 * overall and in its group), about 726,000 for every deal by owner at the bench's 97k deals (6 MB).
 * Larger scans are not kept: the memo stays within `scanCapacity` of these (128 MB).
 */
export const maxKeptScanDurations = 2_000_000;

/** One entry per kind and window: a scan at another horizon of the same window replaces it. */
const keptScanKey = ({ kind, from, to }: KeptScan): string => JSON.stringify([kind, from ?? null, to ?? null]);

export interface MemoCapacities {
  readonly capacity?: number;
  readonly answerCapacity?: number;
  readonly scanCapacity?: number;
  readonly residentCapacity?: number;
}

/**
 * The figures of a scope (or of a union of scopes, such as the months of a quarter) remembered under
 * the revision of each scope they were computed at, so that a dashboard asking the same `groupBy`
 * again and again (30+ ms of reads for 24 owners) reads again only the groups that changed since.
 *
 * Exact by construction: a scope's revision counts the changes made to it in its read model's
 * generation (analytics-aggregates.ts), and the projection is a fold over the events, so a generation
 * and a revision name one state of the scope, even across a reset and rebuild. Only figures with
 * nothing to correct are remembered (no deal changed after asOf): those do not depend on asOf.
 * Figures are kept only if the revisions read after computing them are the ones read before, so a
 * commit landing in between cannot leave mixed figures behind. One entry per scope set (its newest
 * revision), the least recently asked dropped beyond `capacity`. Askers of the same scopes at the
 * same revision share one computation. `null` stands for a group with no deals.
 *
 * Beside them, the counters of each scope as read at a revision, for the questions that correct
 * them (asOf in the past): those start from the same totals until a commit changes the scope, and a
 * capture month a year back hardly changes; so are the change months' sub-bin counts, which asOf
 * far back reads a dozen or more of per percentile. And whole answers: about an instant the projection's
 * clock has left behind (settledAnswer), and about one at or after its latest event (currentAnswer).
 * And the sums of scans, per kind of question and window, which a question of that kind at another
 * window or horizon corrects (keptScans); and every deal's timeline, read by the first scan, which a
 * question far from every kept scan adds up without reading the store (residentOrRead).
 */
export class AnalyticsMemo {
  private readonly figuresOf: RecentMap<string, Remembered<CycleMetrics | null>>;
  private readonly settled: RecentMap<string, Remembered<CycleAnalytics>>;
  private readonly current: RecentMap<string, Remembered<CycleAnalytics>>;
  private readonly counters: RecentMap<string, Remembered<ScopeCounters>>;
  private readonly subBins: RecentMap<string, { readonly revision: string; readonly counts: ReadonlyMap<number, number> }>;
  private readonly latest: RecentMap<string, { readonly stamp: number; readonly counters: ScopeCounters }>;
  private readonly scans: RecentMap<string, KeptScan>;
  private readonly aboutNow: RecentMap<string, true>;
  private resident: ResidentTimelines | undefined;
  private reading: { readonly key: string; readonly timelines: Promise<ResidentTimelines | undefined> } | undefined;

  /** The most timelines kept resident: with none, every question no kept scan is near scans the store. */
  readonly residentCapacity: number;

  /** A whole answer holds a group per owner or month: fewer of them than of per-scope figures. */
  constructor({ capacity = 4_096, answerCapacity = 256, scanCapacity = 8, residentCapacity = maxResidentDeals }: MemoCapacities = {}) {
    this.residentCapacity = residentCapacity;
    this.figuresOf = new RecentMap(capacity);
    this.settled = new RecentMap(answerCapacity);
    this.current = new RecentMap(answerCapacity);
    // A scope's counters hold a few hundred fields (histograms): as many scopes as answers.
    this.counters = new RecentMap(answerCapacity);
    // A change month's bin has at most 16 sub-bin counts; asOf far back reads about 200 such bins.
    this.subBins = new RecentMap(capacity);
    // Every scope a groupBy reads, the change months and the pairs: more than the answers, fewer than the figures.
    this.latest = new RecentMap(answerCapacity * 2);
    this.scans = new RecentMap(scanCapacity);
    this.aboutNow = new RecentMap(answerCapacity);
  }

  /** Whether a question about now (its options but the horizon) was asked before; notes that it was. */
  askedAboutNow(key: string): boolean {
    const before = this.aboutNow.has(key);
    this.aboutNow.set(key, true);
    return before;
  }

  /**
   * The sums of the scans kept for a kind of question (its basis and grouping), each at its own
   * window and horizon, from which a question of that kind corrects only the deals with an event
   * between its window and horizon and theirs (analytics.query.ts, fromKeptScan).
   */
  keptScans(kind: string): KeptScan[] {
    const kept: KeptScan[] = [];
    for (const scan of this.scans.values()) if (scan.kind === kind) kept.push(scan);
    return kept;
  }

  /** Keeps a scan's sums, in place of those they were corrected from (`replacing`): one line of corrections holds one entry. */
  keepScan(scan: KeptScan, replacing?: KeptScan): void {
    if (replacing !== undefined) this.scans.delete(keptScanKey(replacing));
    let durations = 0;
    for (const sums of [scan.sums.overall, ...scan.sums.groups.values()]) for (const { held } of sums.durations.values()) durations += held;
    if (durations <= maxKeptScanDurations) this.scans.set(keptScanKey(scan), scan);
    else this.scans.delete(keptScanKey(scan));
  }

  /** The timelines kept resident, for the generation and count of late events they were read at. */
  private residentTimelines(generation: string, late: number): ResidentTimelines | undefined {
    const resident = this.resident;
    return resident?.generation === generation && resident.late === late ? resident : undefined;
  }

  /**
   * The timelines resident for a generation and count of late events, else those `read` returns,
   * kept: questions asking while they are read share that one read (each would hold every timeline).
   */
  residentOrRead(generation: string, late: number, read: () => Promise<ResidentTimelines | undefined>): Promise<ResidentTimelines | undefined> {
    const resident = this.residentTimelines(generation, late);
    if (resident !== undefined) return Promise.resolve(resident);
    const key = JSON.stringify([generation, late]);
    if (this.reading?.key !== key) {
      const timelines = read().then((timelines) => {
        this.keepResident(timelines);
        return timelines;
      });
      const reading = { key, timelines };
      this.reading = reading;
      const done = () => {
        if (this.reading === reading) this.reading = undefined;
      };
      timelines.then(done, done);
    }
    return this.reading!.timelines;
  }

  /** Frees them, unless others were kept in their place meanwhile. */
  dropResident(stale: ResidentTimelines): void {
    if (this.resident === stale) this.resident = undefined;
  }

  /** Keeps them in place of those kept before; beyond `residentCapacity` it keeps none, and frees those. */
  keepResident(resident: ResidentTimelines | undefined): void {
    this.resident = resident !== undefined && resident.size <= this.residentCapacity ? resident : undefined;
  }

  figures(
    key: string,
    revision: string,
    compute: () => Promise<CycleMetrics | null>,
    revisionNow: () => Promise<string | undefined>,
  ): Promise<CycleMetrics | null> {
    return sharedAnswer(this.figuresOf, key, revision, compute, async () => (await revisionNow()) === revision);
  }

  /** A scope's counters at a revision, read once; kept only if `keep` says the revision did not move meanwhile. */
  scopeCounters(key: string, revision: string, read: () => Promise<ScopeCounters>, keep: () => Promise<boolean>): Promise<ScopeCounters> {
    return sharedAnswer(this.counters, key, revision, read, keep);
  }

  /**
   * A scope's counters as last read, with the stamp they are current at (ReadModelStore.countersSince):
   * a commit that moves the scope changes a few dozen of its several hundred fields, and reading
   * only those, taken over these, costs a fraction of reading them all. Exact whatever the revision:
   * the store answers every field changed since the stamp, or all of them.
   */
  latestCounters(key: string): { readonly stamp: number; readonly counters: ScopeCounters } | undefined {
    return this.latest.get(key);
  }

  keepLatestCounters(key: string, stamp: number, counters: ScopeCounters): void {
    this.latest.set(key, { stamp, counters });
  }

  /**
   * A bin's sub-bin counts (fineCounter) remembered at the revision of their scope. A question reads
   * a couple of hundred of them, so it checks their scopes' revisions once, after reading them all,
   * and remembers those whose revision had not moved (rememberSubBins), rather than one check each.
   */
  subBinCounts(key: string, revision: string): ReadonlyMap<number, number> | undefined {
    const known = this.subBins.get(key);
    return known?.revision === revision ? known.counts : undefined;
  }

  rememberSubBins(key: string, revision: string, counts: ReadonlyMap<number, number>): void {
    this.subBins.set(key, { revision, counts });
  }

  /**
   * A whole answer about an instant the projection's clock has left behind (AnalyticsMeta in
   * analytics-aggregates.ts): it holds, whatever the question, scan or not, until an event arrives
   * late, so it is remembered under the count of late events. Kept only if `keep` says so once it is
   * computed (not when a commit may have torn its reads).
   */
  settledAnswer(key: string, late: number, compute: () => Promise<CycleAnalytics>, keep: () => Promise<boolean>): Promise<CycleAnalytics> {
    return sharedAnswer(this.settled, key, late, compute, keep);
  }

  /**
   * A whole answer about an instant at or after every event the read model holds (the usual "as of
   * now"), remembered under the read model's revision: any later commit moves it, and until one does
   * the answer is the same at every such instant. Kept only if `keep` says so once it is computed.
   */
  currentAnswer(key: string, revision: number, compute: () => Promise<CycleAnalytics>, keep: () => Promise<boolean>): Promise<CycleAnalytics> {
    return sharedAnswer(this.current, key, revision, compute, keep);
  }

  get size(): number {
    return this.figuresOf.size;
  }

  get settledSize(): number {
    return this.settled.size;
  }

  get currentSize(): number {
    return this.current.size;
  }
}
