import { setImmediate } from 'node:timers/promises';
import { type AnalyticsOptions, analyticsWindow, closedInNoStage, createCycleAnalytics, type CycleSums, type GroupBy, groupKey } from './cycle-metrics';
import { type DealTimeline, latestTime } from './deal-timeline';
import { firstWhere } from './sorted-durations';

/**
 * The timelines kept resident at most, unless ANALYTICS_RESIDENT_DEALS says otherwise (AnalyticsMemo's
 * default): about 800 bytes of heap each, 120 MB at this bound. A read model with more deals is
 * scanned for each question no kept scan is near, as before.
 */
export const maxResidentDeals = 150_000;

/** Deals added up between two turns of the event loop: a few milliseconds' work, so other requests are not held up. */
const dealsPerTurn = 4_096;

/**
 * Every deal's timeline as a scan read it, exact for any horizon up to a settled instant: a question
 * that no kept scan is near adds these up instead of reading and parsing every timeline again. Made
 * again, not changed, when it moves on to a later settled instant, so a question adding it up meanwhile
 * sees one state.
 *
 * A question adds up only the deals it can count more of than themselves, in the order a scan reads
 * them (those read again later in their places, new ones after the rest): in cohort basis those
 * captured in its window, which an index by capture time finds; in period basis those captured by its
 * horizon whose latest event is at or after the window's start, which an index by latest event finds,
 * and the deals still open or in a stage, few. Every other deal a period counts was closed, in no
 * stage, before its window: it counts only itself (`deals`), which per group is a binary search of
 * their latest events' times.
 */
export class ResidentTimelines {
  private index: TimeIndex | undefined;
  private readonly closedBy = new Map<GroupBy | undefined, ReadonlyMap<string | undefined, Float64Array>>();

  private constructor(
    readonly generation: string,
    /** The count of late events when they were read: one more, and a timeline may have changed before `settled`. */
    readonly late: number,
    /** Every event at or before it is in these timelines (later ones may be missing). */
    readonly settled: number,
    /** In the order a scan reads them. */
    private readonly timelines: readonly DealTimeline[],
    /** Each deal's place, made when first advanced: the first question need not wait for it. */
    private readonly positions?: ReadonlyMap<string, number>,
  ) {}

  static of(generation: string, late: number, settled: number, timelines: readonly DealTimeline[]): ResidentTimelines {
    return new ResidentTimelines(generation, late, settled, timelines);
  }

  get size(): number {
    return this.timelines.length;
  }

  /**
   * These timelines at a later settled instant, with the deals that had an event since read again:
   * each in its place, a new one after the rest (as a scan finds it).
   */
  advanced(settled: number, read: ReadonlyArray<DealTimeline | undefined>): ResidentTimelines {
    const timelines = [...this.timelines];
    const positions = new Map(this.positions ?? this.timelines.map((timeline, index) => [timeline.dealId, index]));
    for (const timeline of read) {
      if (timeline === undefined) continue;
      const position = positions.get(timeline.dealId);
      if (position !== undefined) timelines[position] = timeline;
      else positions.set(timeline.dealId, timelines.push(timeline) - 1);
    }
    return new ResidentTimelines(this.generation, this.late, settled, timelines, positions);
  }

  /** A question's sums, as a scan adds them up; its horizon must be at or before `settled`. */
  async sums(options: AnalyticsOptions): Promise<CycleSums> {
    const analytics = createCycleAnalytics(options);
    const { horizon } = analyticsWindow(options);
    let picked: number[];
    if (options.basis === 'cohort') {
      picked = this.capturedIn(options.from ?? -Infinity, Math.min(options.to ?? Infinity, horizon + 1));
    } else {
      const start = Math.min(options.from ?? -Infinity, horizon + 1);
      picked = this.movingSince(start, horizon);
      for (const [group, latest] of this.closedIn(options.groupBy)) {
        const deals = firstWhere(latest.length, (rank) => latest[rank]! >= start);
        if (deals > 0) analytics.addCounts(new Map([['deals', deals]]), group);
      }
    }
    // A typed array sorts numbers natively, several times faster than with a comparator.
    const inScanOrder = Uint32Array.from(picked).sort();
    for (let index = 0; index < inScanOrder.length; index++) {
      if (index > 0 && index % dealsPerTurn === 0) await setImmediate();
      analytics.add(this.timelines[inScanOrder[index]!]!);
    }
    return analytics.sums();
  }

  /** The deals captured in [from, until). */
  private capturedIn(from: number, until: number): number[] {
    const { captured, byCapture } = this.timeIndex();
    const picked: number[] = [];
    for (let at = firstWhere(byCapture.length, (rank) => captured[byCapture[rank]!]! >= from); at < byCapture.length; at++) {
      const deal = byCapture[at]!;
      if (captured[deal]! >= until) break;
      picked.push(deal);
    }
    return picked;
  }

  /** The deals captured by `horizon` with an event at or after `start`, or not closed before it. */
  private movingSince(start: number, horizon: number): number[] {
    const { captured, latest, byLatest, open } = this.timeIndex();
    const picked: number[] = [];
    for (let at = firstWhere(byLatest.length, (rank) => latest[byLatest[rank]!]! >= start); at < byLatest.length; at++) {
      const deal = byLatest[at]!;
      if (captured[deal]! <= horizon) picked.push(deal);
    }
    for (let at = 0; at < open.length; at++) if (latest[open[at]!]! < start) picked.push(open[at]!);
    return picked;
  }

  /** The latest events' times of the deals closed and in no stage, sorted, overall (under undefined) and per group. */
  private closedIn(groupBy: GroupBy | undefined): ReadonlyMap<string | undefined, Float64Array> {
    let byGroup = this.closedBy.get(groupBy);
    if (byGroup === undefined) {
      const { latest, open } = this.timeIndex();
      const still = new Set(open);
      const times = new Map<string | undefined, number[]>([[undefined, []]]);
      for (let deal = 0; deal < this.timelines.length; deal++) {
        if (still.has(deal)) continue;
        times.get(undefined)!.push(latest[deal]!);
        if (groupBy === undefined) continue;
        const group = groupKey(this.timelines[deal]!, groupBy);
        const ofGroup = times.get(group);
        if (ofGroup === undefined) times.set(group, [latest[deal]!]);
        else ofGroup.push(latest[deal]!);
      }
      byGroup = new Map([...times].map(([group, values]) => [group, Float64Array.from(values).sort()]));
      this.closedBy.set(groupBy, byGroup);
    }
    return byGroup;
  }

  private timeIndex(): TimeIndex {
    if (this.index === undefined) {
      const count = this.timelines.length;
      const captured = new Float64Array(count);
      const latest = new Float64Array(count);
      const open: number[] = [];
      for (let deal = 0; deal < count; deal++) {
        const timeline = this.timelines[deal]!;
        captured[deal] = timeline.capturedAt;
        latest[deal] = latestTime(timeline);
        if (!closedInNoStage(timeline)) open.push(deal);
      }
      const ordered = (time: Float64Array) => Uint32Array.from({ length: count }, (_, deal) => deal).sort((a, b) => time[a]! - time[b]!);
      this.index = { captured, latest, byCapture: ordered(captured), byLatest: ordered(latest), open };
    }
    return this.index;
  }
}

/** Each deal's capture and latest event, by position, and the positions in their orders; `open`: the deals not closed, or in a stage. */
interface TimeIndex {
  readonly captured: Float64Array;
  readonly latest: Float64Array;
  readonly byCapture: Uint32Array;
  readonly byLatest: Uint32Array;
  readonly open: readonly number[];
}
