import type { StoredDealEvent } from '@deals/deal-streams';
import type { Checkpoint, CounterChanges, GetOptions, JsonObject } from '@deals/read-models';
import { at, eur, leadCaptured, qualified } from '../pipeline/testing/deal-events';
import { dealStream } from '../pipeline/testing/in-memory-read-model';
import { InMemoryReadModelStore } from '../pipeline/testing/in-memory-read-model';
import { AnalyticsMemo, type KeptScan, maxKeptScanDurations } from './analytics-memo';
import { SortedDurations } from './sorted-durations';
import { analyticsDealCollection, analyticsProjection, analyticsProjectionName } from './analytics.projection';
import { fromAggregates, queryCycleLength } from './analytics.query';
import { type AnalyticsOptions, computeCycleAnalytics, dayMs, type CycleAnalytics } from './cycle-metrics';
import type { DealTimeline } from './deal-timeline';
import { randomDeals } from './testing/random-deals';

/** A read model that counts the scopes' totals it hands out: what a question costs in reads. */
class CountingStore extends InMemoryReadModelStore {
  counterReads = 0;
  /** Scans of every timeline, and reads of some: each an answer added up from timelines. */
  timelineReads = 0;
  readonly totalsRead: string[] = [];
  /** Runs once, as the next totals are read: a commit landing while figures are computed. */
  duringNextRead: (() => Promise<void>) | undefined;

  /** The change months' sub-bin counts read (analytics:f:change:<YYYY-MM>:<stat>:<bin>), by month. */
  readonly subBinsRead: string[] = [];

  override async counters(counter: string, fields?: readonly string[]): Promise<Readonly<Record<string, number>>> {
    if (counter.startsWith('analytics:f:change:')) this.subBinsRead.push(counter.slice('analytics:f:change:'.length, 'analytics:f:change:YYYY-MM'.length));
    await this.reading(counter);
    return super.counters(counter, fields);
  }

  /** Per totals read: how many fields the store handed over. */
  readonly fieldsRead: number[] = [];

  override async countersSince(counter: string, since: number | undefined): Promise<CounterChanges> {
    await this.reading(counter);
    const changes = await super.countersSince(counter, since);
    this.fieldsRead.push(Object.keys(changes.fields).length);
    return changes;
  }

  private async reading(counter: string): Promise<void> {
    if (!counter.startsWith('analytics:t:')) return;
    this.counterReads++;
    this.totalsRead.push(counter.slice('analytics:t:'.length));
    const during = this.duringNextRead;
    this.duringNextRead = undefined;
    await during?.();
  }

  /** Runs once, as the timelines are next read: a commit landing while figures are added up from them. */
  duringNextTimelines: (() => Promise<void>) | undefined;

  override async *scan(collection: string, options?: { readonly pageSize?: number }): AsyncGenerator<{ readonly id: string; readonly document: JsonObject }> {
    if (collection === analyticsDealCollection) await this.readingTimelines();
    yield* super.scan(collection, options);
  }

  override async getMany(collection: string, ids: readonly string[], options?: GetOptions): Promise<ReadonlyArray<JsonObject | undefined>> {
    if (collection === analyticsDealCollection) await this.readingTimelines();
    return super.getMany(collection, ids, options);
  }

  private async readingTimelines(): Promise<void> {
    this.timelineReads++;
    const during = this.duringNextTimelines;
    this.duringNextTimelines = undefined;
    await during?.();
  }

  /** Projects the events and moves the checkpoint to the last of them, as a commit of the runner would. */
  async commitEvents(events: readonly StoredDealEvent[]): Promise<void> {
    this.project(analyticsProjection, events);
    const last = events.at(-1)!;
    const checkpoint: Checkpoint = { position: last.position, eventsProcessed: Number(last.position.commit), lastRecordedAt: last.metadata.recordedAt };
    await this.commit(analyticsProjectionName, [], checkpoint);
  }

  timelines(): DealTimeline[] {
    return [...(this.documents.get(analyticsDealCollection)?.values() ?? [])] as unknown as DealTimeline[];
  }
}

/** The deals' events numbered one after another, so that any prefix is a state the read model passes through. */
function history(count: number, seed: number): StoredDealEvent[] {
  return randomDeals(count, seed).map((event, index) => ({ ...event, position: { commit: BigInt(index + 1), prepare: BigInt(index + 1) } }));
}

const now = new Date(Date.UTC(2026, 0, 1));
/** Before every deal of the histories here. */
const longBefore = Date.UTC(2000, 0, 1);
const strip = ({ groups, ...overall }: CycleAnalytics) => ({ ...overall, groups });

async function given(events: readonly StoredDealEvent[]): Promise<CountingStore> {
  const store = new CountingStore();
  await store.commitEvents(events);
  return store;
}

describe('analytics memo', () => {
  const events = history(120, 5);
  const [early, late] = [events.slice(0, 300), events.slice(300)];

  it('given an unchanged read model, when the same question is asked again, then it is answered without reading the aggregates', async () => {
    const store = await given(events);
    const memo = new AnalyticsMemo();
    const first = await queryCycleLength(store, { basis: 'cohort', groupBy: 'owner' }, now, memo);
    const reads = store.counterReads;
    const second = await queryCycleLength(store, { basis: 'cohort', groupBy: 'owner' }, now, memo);
    expect(reads).toBeGreaterThan(0);
    expect(store.counterReads).toBe(reads);
    expect(second).toEqual(first);
    expect(strip(second)).toEqual(expect.objectContaining(computeCycleAnalytics(store.timelines(), { basis: 'cohort', groupBy: 'owner', asOf: now.getTime() })));
  });

  it('given a remembered answer, when the projection commits, then the next answer is the new state’s', async () => {
    const store = await given(early);
    const memo = new AnalyticsMemo();
    const before = await queryCycleLength(store, { basis: 'cohort', groupBy: 'source' }, now, memo);
    await store.commitEvents(late);
    const after = await queryCycleLength(store, { basis: 'cohort', groupBy: 'source' }, now, memo);
    expect(after).not.toEqual(before);
    expect(strip(after)).toEqual(expect.objectContaining(computeCycleAnalytics(store.timelines(), { basis: 'cohort', groupBy: 'source', asOf: now.getTime() })));
  });

  it('given figures remembered per group, when a commit changes some groups, then only those are read again and the answer is exact', async () => {
    const store = await given(early);
    const memo = new AnalyticsMemo();
    await queryCycleLength(store, { basis: 'cohort', groupBy: 'owner' }, now, memo);
    const moved = late.filter((event) => event.dealId === late[0]!.dealId);
    await store.commitEvents(moved);
    store.totalsRead.length = 0;
    const answer = await queryCycleLength(store, { basis: 'cohort', groupBy: 'owner' }, now, memo);
    const owner = store.timelines().find((timeline) => timeline.dealId === moved[0]!.dealId)!.owner;
    expect(store.totalsRead.sort()).toEqual(['all', `owner:${owner}`]);
    expect(strip(answer)).toEqual(expect.objectContaining(computeCycleAnalytics(store.timelines(), { basis: 'cohort', groupBy: 'owner', asOf: now.getTime() })));
  });

  it('given figures remembered per group, when a commit changes a group, then only the fields it changed are read, and the answer is exact', async () => {
    const store = await given(early);
    const memo = new AnalyticsMemo();
    await queryCycleLength(store, { basis: 'cohort', groupBy: 'owner' }, now, memo);
    const wholeOwner = store.fieldsRead.at(-1)!;
    const moved = late.filter((event) => event.dealId === late[0]!.dealId).slice(0, 1);
    await store.commitEvents(moved);
    store.fieldsRead.length = 0;
    const answer = await queryCycleLength(store, { basis: 'cohort', groupBy: 'owner' }, now, memo);
    expect(store.fieldsRead).toHaveLength(2);
    for (const fields of store.fieldsRead) expect(fields).toBeLessThan(wholeOwner / 2);
    expect(strip(answer)).toEqual(expect.objectContaining(computeCycleAnalytics(store.timelines(), { basis: 'cohort', groupBy: 'owner', asOf: now.getTime() })));
  });

  it('given a commit that lands while figures are computed, then they are not kept', async () => {
    const store = await given(early);
    const memo = new AnalyticsMemo();
    store.duringNextRead = () => store.commitEvents(late);
    await queryCycleLength(store, { basis: 'cohort' }, now, memo);
    expect(memo.size).toBe(0);
    const answer = await queryCycleLength(store, { basis: 'cohort' }, now, memo);
    expect(strip(answer)).toEqual(expect.objectContaining(computeCycleAnalytics(store.timelines(), { basis: 'cohort', asOf: now.getTime() })));
    expect(memo.size).toBe(1);
  });

  it('given a read model built before scopes had revisions, then every question reads the aggregates, and answers stay exact', async () => {
    const store = await given(events);
    store.apply([{ kind: 'delete', collection: 'analytics:meta', id: 'revisions' }]);
    const memo = new AnalyticsMemo();
    await queryCycleLength(store, { basis: 'cohort', groupBy: 'source' }, now, memo);
    const reads = store.counterReads;
    const answer = await queryCycleLength(store, { basis: 'cohort', groupBy: 'source' }, now, memo);
    expect(store.counterReads).toBe(2 * reads);
    expect(memo.size).toBe(0);
    expect(strip(answer)).toEqual(expect.objectContaining(computeCycleAnalytics(store.timelines(), { basis: 'cohort', groupBy: 'source', asOf: now.getTime() })));
  });

  it('given deals changed after asOf, then the answer is corrected, not taken from the figures remembered for now', async () => {
    const store = await given(events);
    const memo = new AnalyticsMemo();
    await queryCycleLength(store, { basis: 'cohort', groupBy: 'owner' }, now, memo);
    const latest = Math.max(...store.timelines().map((timeline) => timeline.closedAt ?? timeline.stints.at(-1)!.enteredAt));
    const options: AnalyticsOptions = { basis: 'cohort', groupBy: 'owner', asOf: latest - 3 * dayMs };
    const reads = store.counterReads;
    const answer = await queryCycleLength(store, { basis: 'cohort', groupBy: 'owner', asOf: new Date(options.asOf) }, now, memo);
    expect(store.counterReads).toBeGreaterThan(reads);
    expect(strip(answer)).toEqual(expect.objectContaining(computeCycleAnalytics(store.timelines(), options)));
  });

  describe('the totals a correction starts from', () => {
    const latestOf = (store: CountingStore) => Math.max(...store.timelines().map((timeline) => timeline.closedAt ?? timeline.stints.at(-1)!.enteredAt));
    const asked = (asOf: number): AnalyticsOptions => ({ basis: 'cohort', groupBy: 'owner', asOf });
    const ask = (store: CountingStore, memo: AnalyticsMemo, options: AnalyticsOptions) =>
      queryCycleLength(store, { basis: options.basis, groupBy: options.groupBy, asOf: new Date(options.asOf) }, now, memo);

    it('given deals changed after asOf, when another instant is asked, then no scope’s totals are read again and the answer is exact', async () => {
      const store = await given(events);
      const memo = new AnalyticsMemo();
      const latest = latestOf(store);
      await ask(store, memo, asked(latest - 3 * dayMs));
      store.totalsRead.length = 0;
      const answer = await ask(store, memo, asked(latest - 4 * dayMs));
      expect(store.totalsRead).toEqual([]);
      expect(strip(answer)).toEqual(expect.objectContaining(computeCycleAnalytics(store.timelines(), asked(latest - 4 * dayMs))));
    });

    it('given remembered totals, when a commit changes some scopes, then those are read again and the answer is exact', async () => {
      const store = await given(early);
      const memo = new AnalyticsMemo();
      const asOf = latestOf(store) - 3 * dayMs;
      await ask(store, memo, asked(asOf));
      const moved = late.filter((event) => event.dealId === late[0]!.dealId);
      await store.commitEvents(moved);
      store.totalsRead.length = 0;
      const answer = await ask(store, memo, asked(asOf - dayMs));
      const owner = store.timelines().find((timeline) => timeline.dealId === moved[0]!.dealId)!.owner;
      expect(store.totalsRead.sort()).toEqual(['all', `owner:${owner}`]);
      expect(strip(answer)).toEqual(expect.objectContaining(computeCycleAnalytics(store.timelines(), asked(asOf - dayMs))));
    });

    it('given a commit that lands while the totals are read, then the next question reads the scopes again and is exact', async () => {
      const store = await given(early);
      const memo = new AnalyticsMemo();
      const asOf = latestOf(store) - 3 * dayMs;
      store.duringNextRead = () => store.commitEvents(late);
      await ask(store, memo, asked(asOf));
      store.totalsRead.length = 0;
      const answer = await ask(store, memo, asked(asOf - dayMs));
      expect(store.totalsRead).toContain('all');
      expect(strip(answer)).toEqual(expect.objectContaining(computeCycleAnalytics(store.timelines(), asked(asOf - dayMs))));
    });
  });

  describe('the change months’ sub-bin counts, for every deal as of an instant long past', () => {
    const asOf = Date.parse(at(3, 20, 0)) + 4_321;
    const ask = (store: CountingStore, memo: AnalyticsMemo, instant: number) => fromAggregates(store, { basis: 'cohort', asOf: instant }, { memo, maxCorrected: 0 });
    const exact = (store: CountingStore, instant: number) => computeCycleAnalytics(store.timelines(), { basis: 'cohort', asOf: instant });

    it('given an instant asked once, when another instant of its month is asked, then no sub-bin count is read again and the answer is exact', async () => {
      const store = await given(events);
      const memo = new AnalyticsMemo();
      await ask(store, memo, asOf);
      expect(store.subBinsRead.length).toBeGreaterThan(0);
      store.subBinsRead.length = 0;
      expect(await ask(store, memo, asOf + 1)).toEqual(exact(store, asOf + 1));
      expect(store.subBinsRead).toEqual([]);
    });

    it('given remembered sub-bin counts, when a commit changes a month, then only that month’s are read again and the answer is exact', async () => {
      const store = await given(events);
      const memo = new AnalyticsMemo();
      await ask(store, memo, asOf);
      // History imported late: a deal qualified in early March, five days after its capture.
      const backdated = [leadCaptured(at(3, 2), { dealId: 'backdated', owner: 'owner-1', source: 'web' }), qualified(at(3, 7))];
      await store.commitEvents(dealStream('backdated', backdated, { firstPosition: events.length + 1 }));
      store.subBinsRead.length = 0;
      expect(await ask(store, memo, asOf + 1)).toEqual(exact(store, asOf + 1));
      expect(new Set(store.subBinsRead)).toEqual(new Set(['2025-03']));
    });
  });

  it('given several askers of one question at once, then they share one computation', async () => {
    const store = await given(events);
    const memo = new AnalyticsMemo();
    const answers = await Promise.all(Array.from({ length: 5 }, () => queryCycleLength(store, { basis: 'cohort', groupBy: 'month' }, now, memo)));
    const shared = store.counterReads;
    store.counterReads = 0;
    await queryCycleLength(store, { basis: 'cohort', groupBy: 'month' }, now);
    expect(shared).toBe(store.counterReads);
    for (const answer of answers) expect(answer).toEqual(answers[0]);
  });

  it('keeps at most its capacity of scope sets, dropping the least recently asked', async () => {
    const store = await given(events);
    // One whole answer kept: the questions asked again below reach the figures per scope set.
    const memo = new AnalyticsMemo({ capacity: 2, answerCapacity: 1 });
    await queryCycleLength(store, { basis: 'cohort' }, now, memo);
    await queryCycleLength(store, { basis: 'cohort', from: new Date(Date.UTC(2025, 1, 1)), to: new Date(Date.UTC(2025, 3, 1)) }, now, memo);
    await queryCycleLength(store, { basis: 'cohort', from: new Date(Date.UTC(2025, 2, 1)), to: new Date(Date.UTC(2025, 4, 1)) }, now, memo);
    expect(memo.size).toBe(2);
    store.totalsRead.length = 0;
    await queryCycleLength(store, { basis: 'cohort', from: new Date(Date.UTC(2025, 2, 1)), to: new Date(Date.UTC(2025, 4, 1)) }, now, memo);
    expect(store.totalsRead).toEqual([]);
    await queryCycleLength(store, { basis: 'cohort' }, now, memo);
    expect(store.totalsRead).toEqual(['all']);
  });
});

/** The remembered answers alone: resident timelines would compute again without reading the timelines what these tests tell apart by the reads. */
const answersAlone = () => new AnalyticsMemo({ residentCapacity: 0 });

describe('analytics memo, answers about an instant the projection has left behind', () => {
  const events = history(120, 5);
  const [early, later] = [events.slice(0, 300), events.slice(300)];
  const latest = Date.parse(early.at(-1)!.event.occurredAt);
  // Everything that happened until a month before the latest event, seen as it stood then: a period
  // starting before the first deal, added up from every deal's timeline.
  const period: AnalyticsOptions = { basis: 'period', from: longBefore, to: latest - 30 * dayMs, asOf: now.getTime() };
  // A deal captured inside the period, written after every event of `early`: history imported late.
  const importedLate = dealStream(
    'imported',
    [leadCaptured(new Date(Date.UTC(2025, 0, 2)).toISOString(), { dealId: 'imported', owner: 'ann', source: 'web', estimatedValue: eur(5_000) })],
    { firstPosition: early.length + 1 },
  );

  it('given a period well before the latest event, when events that happened after it are committed, then it is answered again without reading the timelines, exactly', async () => {
    const store = await given(early);
    const memo = answersAlone();
    const first = await ask(store, memo, period);
    expect(store.timelineReads).toBe(1);
    await store.commitEvents(later);
    const again = await ask(store, memo, period);
    expect(store.timelineReads).toBe(1);
    expect(again).toEqual(first);
    expect(strip(again)).toEqual(exact(store, period));
  });

  it('given a past period, when it is asked as of another instant after its end, then it is the same question', async () => {
    const store = await given(early);
    const memo = answersAlone();
    const first = await ask(store, memo, period);
    const again = await ask(store, memo, { ...period, asOf: period.to! + dayMs });
    expect(store.timelineReads).toBe(1);
    expect(again).toEqual({ ...first, asOf: new Date(period.to! + dayMs).toISOString() });
  });

  it('given a remembered answer, when an event that happened inside the period arrives late, then the next answer is computed again and counts it', async () => {
    const store = await given(early);
    const memo = answersAlone();
    const before = await ask(store, memo, period);
    await store.commitEvents(importedLate);
    const after = await ask(store, memo, period);
    expect(store.timelineReads).toBe(2);
    expect(after).not.toEqual(before);
    expect(strip(after)).toEqual(exact(store, period));
  });

  it('given an event arriving late while a remembered-to-be answer reads the timelines, then it is not kept', async () => {
    const store = await given(early);
    const memo = answersAlone();
    store.duringNextTimelines = () => store.commitEvents(importedLate);
    await ask(store, memo, period);
    expect(memo.settledSize).toBe(0);
    expect(strip(await ask(store, memo, period))).toEqual(exact(store, period));
    expect(memo.settledSize).toBe(1);
  });

  it('given an instant within the hour before the latest event, then nothing is remembered and each answer is computed', async () => {
    const store = await given(early);
    const memo = answersAlone();
    const recent: AnalyticsOptions = { ...period, to: latest - 3_600_000 + 2 };
    await ask(store, memo, recent);
    await ask(store, memo, recent);
    expect(store.timelineReads).toBe(2);
    expect(memo.settledSize).toBe(0);
  });

  it('given an asOf some days back, answered from the aggregates, then it is remembered, and not when a commit lands while it is computed', async () => {
    const store = await given(early);
    const memo = answersAlone();
    const asOf: AnalyticsOptions = { basis: 'cohort', groupBy: 'owner', asOf: latest - 3 * dayMs };
    store.duringNextRead = () => store.commitEvents(later.slice(0, 5));
    await ask(store, memo, asOf);
    expect(memo.settledSize).toBe(0);
    const computed = await ask(store, memo, asOf);
    expect(memo.settledSize).toBe(1);
    const [reads, timelineReads] = [store.counterReads, store.timelineReads];
    const remembered = await ask(store, memo, asOf);
    expect(store.counterReads).toBe(reads);
    expect(store.timelineReads).toBe(timelineReads);
    expect(remembered).toEqual(computed);
    expect(strip(remembered)).toEqual(exact(store, asOf));
  });
});

describe('analytics memo, answers as of now', () => {
  const events = history(120, 5);
  const [early, later] = [events.slice(0, 300), events.slice(300)];
  const latest = Date.parse(early.at(-1)!.event.occurredAt);
  // A period from before the first deal up to now, added up from every deal's timeline.
  const sinceEver: AnalyticsOptions = { basis: 'period', from: longBefore, groupBy: 'owner', asOf: now.getTime() };

  it('given an unchanged read model, when a question about now is asked again, at any instant after the latest event, then it is answered without reading the timelines', async () => {
    const store = await given(early);
    const memo = answersAlone();
    const first = await ask(store, memo, sinceEver);
    const again = await ask(store, memo, { ...sinceEver, asOf: latest });
    expect(store.timelineReads).toBe(1);
    expect(memo.currentSize).toBe(1);
    expect(again).toEqual({ ...first, asOf: new Date(latest).toISOString() });
    expect(strip(again)).toEqual(exact(store, sinceEver));
  });

  it('given a remembered answer, when the projection commits, then the next answer is computed again and is the new state’s', async () => {
    const store = await given(early);
    const memo = answersAlone();
    const before = await ask(store, memo, sinceEver);
    await store.commitEvents(later);
    const after = await ask(store, memo, sinceEver);
    expect(store.timelineReads).toBe(2);
    expect(after).not.toEqual(before);
    expect(strip(after)).toEqual(exact(store, sinceEver));
  });

  it('given an instant before the latest event (within the hour), then no answer about now serves it', async () => {
    const store = await given(early);
    const memo = answersAlone();
    await ask(store, memo, sinceEver);
    const justBefore: AnalyticsOptions = { ...sinceEver, asOf: latest - 1 };
    expect(strip(await ask(store, memo, justBefore))).toEqual(exact(store, justBefore));
    await ask(store, memo, justBefore);
    expect(store.timelineReads).toBe(3);
    expect(memo.currentSize).toBe(1);
  });

  it('given a commit that lands while an answer about now is computed, then it is not kept', async () => {
    const store = await given(early);
    const memo = answersAlone();
    store.duringNextTimelines = () => store.commitEvents(later);
    await ask(store, memo, sinceEver);
    expect(memo.currentSize).toBe(0);
    expect(strip(await ask(store, memo, sinceEver))).toEqual(exact(store, sinceEver));
    expect(memo.currentSize).toBe(1);
  });
});

describe('scans kept per kind', () => {
  const sums = (durations: number) => ({ overall: { fields: new Map(), durations: new Map([['cycle' as const, SortedDurations.of(Array.from({ length: durations }, (_, index) => index))]]) }, groups: new Map() });
  const scan = (kind: string, from: number | undefined, horizon: number, durations = 1): KeptScan => ({ kind, from, to: undefined, horizon, late: 0, sums: sums(durations) });

  it('given scans of two kinds at several windows, then each kind lists its own, one per window, the latest horizon of each', () => {
    const memo = new AnalyticsMemo();
    memo.keepScan(scan('by owner', 1, 10));
    memo.keepScan(scan('by owner', 2, 10));
    memo.keepScan(scan('by source', 1, 10));
    memo.keepScan(scan('by owner', 1, 20));
    expect(memo.keptScans('by owner').map(({ from, horizon }) => [from, horizon])).toEqual([[2, 10], [1, 20]]);
    expect(memo.keptScans('by source')).toHaveLength(1);
  });

  it('given a scan kept in place of the one it was corrected from, then only the new one is kept', () => {
    const memo = new AnalyticsMemo();
    const first = scan('by owner', 1, 10);
    memo.keepScan(first);
    memo.keepScan(scan('by owner', 5, 12), first);
    expect(memo.keptScans('by owner').map(({ from }) => from)).toEqual([5]);
  });

  it('given a scan holding more durations than the memo keeps, then it is not kept, nor the one at its window before', () => {
    const memo = new AnalyticsMemo();
    memo.keepScan(scan('by owner', 1, 10));
    memo.keepScan(scan('by owner', 1, 20, maxKeptScanDurations + 1));
    expect(memo.keptScans('by owner')).toEqual([]);
  });
});

/** The question the options describe, asked over the query's own parameters. */
function ask(store: CountingStore, memo: AnalyticsMemo, options: AnalyticsOptions): Promise<CycleAnalytics> {
  return queryCycleLength(store, { basis: options.basis, from: date(options.from), to: date(options.to), asOf: date(options.asOf), groupBy: options.groupBy }, now, memo);
}

/** What a scan of every timeline the store holds answers. */
function exact(store: CountingStore, options: AnalyticsOptions) {
  return expect.objectContaining(computeCycleAnalytics(store.timelines(), options));
}

function date(time: number | undefined): Date | undefined {
  return time === undefined ? undefined : new Date(time);
}

