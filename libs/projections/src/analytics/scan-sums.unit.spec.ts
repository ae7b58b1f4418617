import type { StoredDealEvent } from '@deals/deal-streams';
import { seededRandom } from '@deals/platform';
import { eur, leadCaptured } from '../pipeline/testing/deal-events';
import { dealStream, type InMemoryReadModelStore } from '../pipeline/testing/in-memory-read-model';
import { analyticsKeptCounter, keptChangeDays } from './analytics-aggregates';
import { AnalyticsMemo } from './analytics-memo';
import { analyticsProjection } from './analytics.projection';
import { fromKeptScan, maxCorrectedDeals, queryCycleLength } from './analytics.query';
import { type AnalyticsOptions, analyticsOfSums, computeCycleAnalytics, createCycleAnalytics, type DealShare, dealShares, dayMs, type GroupBy, monthBounds } from './cycle-metrics';
import { changedIn, type DealTimeline } from './deal-timeline';
import { correctedSums, type ShareMove } from './scan-sums';
import { eventTimes, projected, readsOf, timelines } from './testing/projected-deals';
import { randomDeals, randomDealsStart as start } from './testing/random-deals';

const month = (m: number) => Date.UTC(2025, m - 1, 1);
const hour = 3_600_000;

describe('scan sums, corrected deal by deal', () => {
  const deals = timelines(projected(randomDeals(300, 3)));
  const sumsAt = (options: AnalyticsOptions) => {
    const scan = createCycleAnalytics(options);
    for (const deal of deals) scan.add(deal);
    return scan.sums();
  };
  /** Each deal's share under one question and under another (none: taken out). */
  const movesOf = (was: AnalyticsOptions, is: AnalyticsOptions | undefined, moved: typeof deals): ShareMove[] =>
    moved.map((deal) => ({ was: dealShares(was)(deal), is: is === undefined ? undefined : dealShares(is)(deal) }));

  it.each([
    ['a period by owner, its end moved on', { basis: 'period', from: month(2) + 12_345, groupBy: 'owner' }, month(4) + 3 * dayMs, month(4) + 9 * dayMs],
    ['a period by source, its end moved back', { basis: 'period', from: month(2) + 12_345, groupBy: 'source' }, month(5) + 17 * dayMs, month(4) + 2 * dayMs],
    ['a cohort window by month, asOf moved on', { basis: 'cohort', from: month(2) + 5, to: month(4) - 5, groupBy: 'month' }, month(3), month(5)],
    ['every deal by owner, asOf moved back', { basis: 'cohort', groupBy: 'owner' }, month(6), month(3) + 11 * dayMs],
    ['every deal, asOf moved to before any deal', { basis: 'cohort' }, month(4), start - dayMs],
  ] as const)('given %s, when the deals that moved in between are taken out and put in, then the figures are the scan’s at the new horizon', (_, question, kept, asked) => {
    const [before, after] = [{ ...question, asOf: kept } as AnalyticsOptions, { ...question, asOf: asked } as AnalyticsOptions];
    const moved = deals.filter((deal) => changedIn(deal, Math.min(kept, asked), Math.max(kept, asked)));
    expect(moved.length).toBeGreaterThan(0);
    const corrected = correctedSums(sumsAt(before), movesOf(before, after, moved));
    expect(analyticsOfSums(corrected)).toEqual(computeCycleAnalytics(deals, after));
  });

  it('given kept sums, when they are corrected, then the kept sums are unchanged', () => {
    const options: AnalyticsOptions = { basis: 'period', from: month(2), groupBy: 'owner', asOf: month(4) };
    const kept = sumsAt(options);
    const before = analyticsOfSums(kept);
    const moved = deals.slice(0, 40);
    correctedSums(kept, movesOf(options, undefined, moved));
    expect(analyticsOfSums(kept)).toEqual(before);
  });

  it('given a group’s every deal taken out, then the group is gone, as a scan would not show it', () => {
    const options: AnalyticsOptions = { basis: 'cohort', groupBy: 'owner', asOf: month(8) };
    const ann = deals.filter((deal) => deal.owner === 'ann');
    const corrected = correctedSums(sumsAt(options), movesOf(options, undefined, ann));
    expect(analyticsOfSums(corrected)).toEqual(computeCycleAnalytics(deals.filter((deal) => deal.owner !== 'ann'), options));
    expect([...corrected.groups.keys()]).not.toContain('ann');
  });

  it('given a share taken out that the sums do not hold, then it refuses, rather than give figures of other shares', () => {
    const options: AnalyticsOptions = { basis: 'cohort', asOf: month(8) };
    const won = deals.find((deal) => deal.outcome === 'won')!;
    const share = dealShares(options)(won)!;
    const foreign: DealShare = { ...share, durations: share.durations.map(([stat, ms]) => [stat, ms + 0.5] as const) };
    expect(() => correctedSums(sumsAt(options), [{ was: foreign, is: undefined }])).toThrow('do not hold a duration');
  });

  it('given a deal whose share moved only in part, then only what changed moves: the durations it kept are not taken out and put back', () => {
    const options: AnalyticsOptions = { basis: 'cohort', asOf: month(8) };
    const kept = sumsAt(options);
    const won = deals.find((deal) => deal.outcome === 'won')!;
    const share = dealShares(options)(won)!;
    const unchanged = correctedSums(kept, [{ was: share, is: share }]);
    expect(unchanged.overall.fields).toEqual(kept.overall.fields);
    for (const [stat, durations] of kept.overall.durations) expect(unchanged.overall.durations.get(stat)).toBe(durations);
    // One duration a little longer: only its statistic's values are made again.
    const [moved, ...same] = share.durations;
    const longer: DealShare = { ...share, durations: [[moved![0], moved![1] + 1], ...same] };
    const corrected = correctedSums(kept, [{ was: share, is: longer }]);
    for (const [stat, durations] of kept.overall.durations) {
      if (stat === moved![0]) expect(corrected.overall.durations.get(stat)!.sumMs).toBe(durations.sumMs + 1);
      else expect(corrected.overall.durations.get(stat)).toBe(durations);
    }
  });
});

describe('a question only a scan answers, from the scan kept for its kind', () => {
  const events = randomDeals(400, 7);
  const latest = Math.max(...events.map((event) => Date.parse(event.event.occurredAt)));
  const periodByOwner: AnalyticsOptions = { basis: 'period', from: month(2) + 12_345, groupBy: 'owner', asOf: month(4) + 3 * dayMs };

  // The kept scans alone: resident timelines (resident-timelines.unit.spec.ts) answer, without a scan, what they do not.
  const keptScansAlone = () => new AnalyticsMemo({ residentCapacity: 0 });
  function given() {
    const store = projected(events);
    const scans = jest.spyOn(store, 'scan');
    return { store, scans, memo: keptScansAlone() };
  }

  it('given a question scanned once, when its end moves back and forth, then only the deals with an event in between are read, and each answer is the scan’s', async () => {
    const { store, scans, memo } = given();
    expect(await fromKeptScan(store, periodByOwner, memo)).toEqual(computeCycleAnalytics(timelines(store), periodByOwner));
    expect(scans).toHaveBeenCalledTimes(1);
    let kept = periodByOwner.asOf;
    for (const asOf of [month(4) + 9 * dayMs, month(4) + 9 * dayMs - 1, month(3) + 2 * dayMs, month(5), month(5) - 1, month(6) + 40 * hour]) {
      const options = { ...periodByOwner, asOf };
      const { answer, read } = await readsOf(store, () => fromKeptScan(store, options, memo));
      expect(answer).toEqual(computeCycleAnalytics(timelines(store), options));
      const moved = timelines(store).filter((deal) => changedIn(deal, Math.min(kept, asOf), Math.max(kept, asOf)));
      expect(read).toEqual(expect.arrayContaining(moved.map((deal) => deal.dealId)));
      // Others only from the months the span touches (events before and after it in a month, none in it).
      const [first, last] = [monthBounds(Math.min(kept, asOf)).first, monthBounds(Math.max(kept, asOf)).next - 1];
      const touched = new Set(timelines(store).filter((deal) => changedIn(deal, first - 1, last)).map((deal) => deal.dealId));
      expect(read.filter((id) => !touched.has(id))).toEqual([]);
      kept = asOf;
    }
    expect(scans).toHaveBeenCalledTimes(1);
  });

  const exactly = 'exactly the deals with an event in it';
  const andLater = 'the deals with an event in it, and those with one later that day';
  it.each([
    ['from a month’s start', exactly, month(4) - 1, month(4) + 6 * dayMs + 777],
    ['to a month’s end', exactly, month(4) + 20 * dayMs + 777, month(5) - 1],
    ['over whole months', exactly, month(3) - 1, month(5) - 1],
    ['over whole days inside a month', exactly, month(4) + 10 * dayMs - 1, month(4) + 12 * dayMs - 1],
    ['to a day’s end inside a month', exactly, month(4) + 10 * dayMs + 5 * hour, month(4) + 11 * dayMs - 1],
    ['over days inside a month, ending inside one', andLater, month(4) + 10 * dayMs + 777, month(4) + 12 * dayMs + 5 * hour],
    ['from a day’s start to inside it', andLater, month(4) + 10 * dayMs - 1, month(4) + 10 * dayMs + 5 * hour],
    ['inside a day', andLater, month(4) + 6 * dayMs + 6 * hour, month(4) + 6 * dayMs + 18 * hour],
  ])('given a span %s, then %s are read', async (_, reads, kept, asked) => {
    const { store, memo } = given();
    await fromKeptScan(store, { ...periodByOwner, asOf: kept }, memo);
    const options = { ...periodByOwner, asOf: asked };
    const { answer, read } = await readsOf(store, () => fromKeptScan(store, options, memo));
    expect(answer).toEqual(computeCycleAnalytics(timelines(store), options));
    // Inside a month, the day the span ends in is read from its start on, and its later deals left out.
    const readUntil = reads === exactly ? asked : month(4) + Math.ceil((asked - month(4)) / dayMs) * dayMs - 1;
    if (reads === andLater) expect(timelines(store).filter((deal) => changedIn(deal, asked, readUntil)).length).toBeGreaterThan(0);
    expect(read.sort()).toEqual(timelines(store).filter((deal) => changedIn(deal, kept, readUntil)).map((deal) => deal.dealId).sort());
  });

  /** The deals with an event inside [from, until), whose first such event is at or before `asked` and last after `kept`, and how many of each side. */
  function straddlersOf(deals: readonly DealTimeline[], from: number, until: number, kept: number, asked: number) {
    const inside = (deal: DealTimeline) => eventTimes(deal).filter((time) => time >= from && time < until);
    const straddling = deals.filter((deal) => {
      const times = inside(deal);
      return times.length > 0 && Math.min(...times) <= asked && Math.max(...times) > kept;
    });
    const byFirst = deals.filter((deal) => inside(deal).some((time) => time <= asked)).length;
    const byLast = deals.filter((deal) => inside(deal).some((time) => time > kept)).length;
    return { straddling, byFirst, byLast };
  }

  it('given a span inside a month, in a read model projected before the day indexes, then it reads the deals whose first event in the month is before its end and last after its start, not all of either', async () => {
    const [kept, asked] = [month(4) + 10 * dayMs + 777, month(4) + 11 * dayMs];
    const { straddling, byFirst, byLast } = straddlersOf(timelines(projected(events)), month(4), month(5), kept, asked);
    expect(straddling.length).toBeLessThan(Math.min(byFirst, byLast));
    for (const [maxDeals, scansThen] of [[straddling.length, 1], [straddling.length - 1, 2]] as const) {
      const { store, scans, memo } = given();
      // It counts the day indexes one deal short, as a read model projected before them does.
      store.apply([{ kind: 'increment', counter: analyticsKeptCounter, field: keptChangeDays, by: -1 }]);
      await fromKeptScan(store, { ...periodByOwner, asOf: kept }, memo, maxDeals);
      const options = { ...periodByOwner, asOf: asked };
      const { answer, read } = await readsOf(store, () => fromKeptScan(store, options, memo, maxDeals));
      expect(answer).toEqual(computeCycleAnalytics(timelines(store), options));
      expect(scans).toHaveBeenCalledTimes(scansThen);
      if (scansThen === 1) expect(read.sort()).toEqual(straddling.map((deal) => deal.dealId).sort());
    }
  });

  it('given random questions of kinds only a scan answers, asked at random horizons one after another, then every answer is the scan’s', async () => {
    const { store, scans, memo } = given();
    const random = seededRandom(42);
    const kinds: AnalyticsOptions[] = [
      periodByOwner,
      { basis: 'period', from: month(1) + 7, groupBy: 'source', asOf: 0 },
      { basis: 'period', from: month(3) - 1, asOf: 0 },
      { basis: 'cohort', from: month(2) + 3, to: month(5) + 3, groupBy: 'owner', asOf: 0 },
      { basis: 'cohort', groupBy: 'source' as GroupBy, asOf: 0 },
    ];
    for (let ask = 0; ask < 60; ask++) {
      const kind = kinds[Math.floor(random() * kinds.length)]!;
      // Mostly near the kind's last horizon (a few days), sometimes anywhere, at millisecond times.
      const asOf = start + Math.floor(random() * 240 * dayMs);
      const options = { ...kind, asOf };
      expect(await fromKeptScan(store, options, memo)).toEqual(computeCycleAnalytics(timelines(store), options));
    }
    // One scan per kind, the rest corrected (the random horizons jump a few dozen deals at most).
    expect(scans.mock.calls.length).toBeLessThanOrEqual(kinds.length);
  });

  it('given a question scanned once, when its start moves back and forth, then only the deals with an event between the two starts are read, and each answer is the scan’s', async () => {
    const { store, scans, memo } = given();
    await fromKeptScan(store, periodByOwner, memo);
    let kept = periodByOwner.from!;
    for (const from of [kept + 1, kept + 5 * dayMs + 777, month(2) + 3 * dayMs, month(1) + 20 * dayMs, month(2)]) {
      const options = { ...periodByOwner, from };
      const { answer, read } = await readsOf(store, () => fromKeptScan(store, options, memo));
      expect(answer).toEqual(computeCycleAnalytics(timelines(store), options));
      // The deals with an event from the earlier start up to the later, and at most those later on the day that span ends in.
      const [earlier, later] = [Math.min(kept, from), Math.max(kept, from)];
      const moved = timelines(store).filter((deal) => changedIn(deal, earlier - 1, later - 1));
      expect(read).toEqual(expect.arrayContaining(moved.map((deal) => deal.dealId)));
      const dayEnd = Math.ceil(later / dayMs) * dayMs - 1;
      const listed = new Set(timelines(store).filter((deal) => changedIn(deal, earlier - 1, dayEnd)).map((deal) => deal.dealId));
      expect(read.filter((id) => !listed.has(id))).toEqual([]);
      kept = from;
    }
    expect(scans).toHaveBeenCalledTimes(1);
  });

  it('given a cohort window scanned once, when both its bounds and its horizon move, then the answer is the scan’s without another scan', async () => {
    const { store, scans, memo } = given();
    const cohort: AnalyticsOptions = { basis: 'cohort', from: month(2) + 3, to: month(4) + 3, groupBy: 'source', asOf: month(5) };
    await fromKeptScan(store, cohort, memo);
    for (const moved of [
      { ...cohort, from: month(2) + 2 * dayMs },
      { ...cohort, from: month(2) + 2 * dayMs, to: month(4) - 3 * dayMs, asOf: month(5) + 4 * dayMs },
      { ...cohort, from: month(1) + 25 * dayMs, to: month(4) + 3 * dayMs, asOf: month(4) + 10 * dayMs },
    ]) {
      expect(await fromKeptScan(store, moved, memo)).toEqual(computeCycleAnalytics(timelines(store), moved));
    }
    expect(scans).toHaveBeenCalledTimes(1);
  });

  it('given kept scans of a kind, then a question corrects the nearest, and a window open at a bound the kept ones close is scanned', async () => {
    const { store, scans, memo } = given();
    const cohort: AnalyticsOptions = { basis: 'cohort', from: month(2), groupBy: 'owner', asOf: month(7) };
    await fromKeptScan(store, cohort, memo);
    await fromKeptScan(store, { ...cohort, from: month(5) }, memo, 0);
    expect(scans).toHaveBeenCalledTimes(2);
    // A millisecond from the second: at most that day's deals are read, where the first would need three months'.
    const near = { ...cohort, from: month(5) + 1 };
    const { answer, read } = await readsOf(store, () => fromKeptScan(store, near, memo));
    expect(answer).toEqual(computeCycleAnalytics(timelines(store), near));
    const thatDay = new Set(timelines(store).filter((deal) => changedIn(deal, month(5) - 1, month(5) + dayMs - 1)).map((deal) => deal.dealId));
    expect(read.filter((id) => !thatDay.has(id))).toEqual([]);
    expect(timelines(store).filter((deal) => changedIn(deal, month(2) - 1, month(5))).length).toBeGreaterThan(5 * thatDay.size);
    expect(scans).toHaveBeenCalledTimes(2);
    const sinceEver = { ...cohort, from: undefined };
    expect(await fromKeptScan(store, sinceEver, memo)).toEqual(computeCycleAnalytics(timelines(store), sinceEver));
    expect(scans).toHaveBeenCalledTimes(3);
  });

  it('given random windows and horizons of kinds only a scan answers, asked one after another, then every answer is the scan’s', async () => {
    const { store, scans, memo } = given();
    const random = seededRandom(7);
    const kinds: AnalyticsOptions[] = [periodByOwner, { basis: 'cohort', groupBy: 'source', asOf: 0 }, { basis: 'period', asOf: 0, groupBy: 'month' }];
    const near = (time: number, days: number) => time + Math.floor((random() - 0.5) * days * dayMs);
    for (let ask = 0; ask < 60; ask++) {
      const kind = kinds[ask % kinds.length]!;
      const from = near(month(2), 40);
      const options: AnalyticsOptions = { ...kind, from, to: kind.basis === 'cohort' ? near(month(5), 40) : undefined, asOf: near(month(5), 60) };
      expect(await fromKeptScan(store, options, memo)).toEqual(computeCycleAnalytics(timelines(store), options));
    }
    // One scan per kind, the rest corrected (some windows far from every kept one scan again).
    expect(scans.mock.calls.length).toBeLessThan(20);
  });

  it('given more deals moved in between than it corrects, then it scans again, exactly', async () => {
    const { store, scans, memo } = given();
    await fromKeptScan(store, periodByOwner, memo, 5);
    const far = { ...periodByOwner, asOf: month(6) };
    expect(await fromKeptScan(store, far, memo, 5)).toEqual(computeCycleAnalytics(timelines(store), far));
    expect(scans).toHaveBeenCalledTimes(2);
  });

  // A deal captured inside the period, its events written after every other: history imported late.
  const importedLate = dealStream(
    'imported',
    [leadCaptured(new Date(month(3) + 5 * dayMs).toISOString(), { dealId: 'imported', owner: 'ann', source: 'web', estimatedValue: eur(5_000) })],
    { firstPosition: events.length + 1 },
  );
  const next = { ...periodByOwner, asOf: periodByOwner.asOf + 1 };

  it('given an event that arrives late after the scan was kept, then the kept sums are not used, and the answer counts it', async () => {
    const { store, scans, memo } = given();
    await fromKeptScan(store, periodByOwner, memo);
    store.project(analyticsProjection, importedLate);
    expect(await fromKeptScan(store, next, memo)).toEqual(computeCycleAnalytics(timelines(store), next));
    expect(scans).toHaveBeenCalledTimes(2);
  });

  it('given an event that arrives late while a correction reads, then the kept sums are not used, and the answer counts it', async () => {
    const { store, scans, memo } = given();
    await fromKeptScan(store, periodByOwner, memo);
    projectWhileReading(store, importedLate);
    expect(await fromKeptScan(store, next, memo)).toEqual(computeCycleAnalytics(timelines(store), next));
    expect(scans).toHaveBeenCalledTimes(2);
  });

  describe('asked about now', () => {
    const cut = Math.floor(events.length * 0.8);
    const [early, later] = [events.slice(0, cut), events.slice(cut)];
    const aboutNow: AnalyticsOptions = { ...periodByOwner, asOf: latest + dayMs };

    it('given a question about now, then it scans at the settled instant before it and corrects from there; after commits, it corrects again without a scan', async () => {
      const store = projected(early);
      const scans = jest.spyOn(store, 'scan');
      const memo = keptScansAlone();
      expect(await fromKeptScan(store, aboutNow, memo)).toEqual(computeCycleAnalytics(timelines(store), aboutNow));
      for (const batch of [later.slice(0, 20), later.slice(20, 40)]) {
        store.project(analyticsProjection, batch);
        expect(await fromKeptScan(store, aboutNow, memo)).toEqual(computeCycleAnalytics(timelines(store), aboutNow));
      }
      expect(scans).toHaveBeenCalledTimes(1);
    });

    it('given the clock moved on by more than an hour since the kept sums, then they are brought up to the settled instant, and the next question reads only the deals since', async () => {
      const store = projected(early);
      const memo = keptScansAlone();
      await fromKeptScan(store, aboutNow, memo);
      const firstBatch = later.slice(0, 60);
      store.project(analyticsProjection, firstBatch);
      const batchLatest = Date.parse(firstBatch.at(-1)!.event.occurredAt);
      expect(batchLatest - Date.parse(early.at(-1)!.event.occurredAt)).toBeGreaterThan(3 * hour);
      expect(await fromKeptScan(store, aboutNow, memo)).toEqual(computeCycleAnalytics(timelines(store), aboutNow));
      store.project(analyticsProjection, later.slice(60, 62));
      const { answer, read } = await readsOf(store, () => fromKeptScan(store, aboutNow, memo));
      expect(answer).toEqual(computeCycleAnalytics(timelines(store), aboutNow));
      // From the instant settled after the first batch on: none of the deals whose events all came before.
      const since = batchLatest - hour - 1;
      const byId = new Map(timelines(store).map((deal) => [deal.dealId, deal]));
      expect(read.filter((id) => !changedIn(byId.get(id)!, since - 1, Infinity))).toEqual([]);
      expect(read.length).toBeLessThan(timelines(store).filter((deal) => changedIn(deal, Date.parse(early.at(-1)!.event.occurredAt) - hour - 1, Infinity)).length);
    });

    it('given a window whose deals changed since its start a correction would not read, asked about now again after a commit, then a kept scan answers it from then on', async () => {
      const many = randomDeals(1_200, 13);
      const cutAt = Math.floor(many.length * 0.9);
      const store = projected(many.slice(0, cutAt));
      const scans = jest.spyOn(store, 'scan');
      const memo = keptScansAlone();
      const now = new Date(Date.parse(many.at(-1)!.event.occurredAt) + dayMs);
      const sinceEver = { basis: 'period', from: new Date(start - dayMs), groupBy: 'owner' } as const;
      const exactNow = () => computeCycleAnalytics(timelines(store), { ...sinceEver, from: start - dayMs, asOf: now.getTime() });
      const ask = () => readsOf(store, () => queryCycleLength(store, sinceEver, now, memo));
      // The first ask: the deals changed since its start, every deal then, read one by one.
      expect((await ask()).answer).toEqual(expect.objectContaining(exactNow()));
      expect(scans).not.toHaveBeenCalled();
      for (const batch of [many.slice(cutAt, cutAt + 20), many.slice(cutAt + 20, cutAt + 30)]) {
        store.project(analyticsProjection, batch);
        const { answer, read } = await ask();
        expect(answer).toEqual(expect.objectContaining(exactNow()));
        expect(read.length).toBeLessThan(maxCorrectedDeals);
      }
      expect(scans).toHaveBeenCalledTimes(1);
    });

    it('given a read model whose latest event is years before now, then the months after it are not read', async () => {
      const store = projected(early);
      const memo = keptScansAlone();
      const yearsOn: AnalyticsOptions = { ...periodByOwner, asOf: latest + 3 * 365 * dayMs };
      await fromKeptScan(store, yearsOn, memo);
      store.project(analyticsProjection, later.slice(0, 20));
      const ranges = jest.spyOn(store, 'range');
      expect(await fromKeptScan(store, yearsOn, memo)).toEqual(computeCycleAnalytics(timelines(store), yearsOn));
      expect(ranges.mock.calls.length).toBeLessThanOrEqual(4);
    });

    it('given a commit that lands while the deals moved since are read, then the reads are taken again, and the answer is the new state’s', async () => {
      const store = projected(early);
      const memo = keptScansAlone();
      await fromKeptScan(store, aboutNow, memo);
      projectWhileReading(store, later);
      expect(await fromKeptScan(store, aboutNow, memo)).toEqual(computeCycleAnalytics(timelines(store), aboutNow));
    });

    it('given more deals moved since the settled instant than it corrects, then it scans the question itself', async () => {
      const store = projected(events);
      const scans = jest.spyOn(store, 'scan');
      // Every deal captured within the hour before the latest event: none of them settled.
      const recent = timelines(store).filter((deal) => changedIn(deal, latest - hour - 1, latest)).length;
      expect(recent).toBeGreaterThan(0);
      expect(await fromKeptScan(store, aboutNow, keptScansAlone(), recent - 1)).toEqual(computeCycleAnalytics(timelines(store), aboutNow));
      expect(scans).toHaveBeenCalledTimes(1);
    });
  });
});

/** The events projected as the next timelines are read: a commit landing between a correction's reads. */
function projectWhileReading(store: InMemoryReadModelStore, events: readonly StoredDealEvent[]): void {
  const getMany = store.getMany.bind(store);
  jest.spyOn(store, 'getMany').mockImplementationOnce(async (collection, ids, options) => {
    const read = await getMany(collection, ids, options);
    store.project(analyticsProjection, events);
    return read;
  });
}
