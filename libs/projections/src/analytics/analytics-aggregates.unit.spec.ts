import { seededRandom } from '@deals/platform';
import { InMemoryReadModelStore } from '../pipeline/testing/in-memory-read-model';
import {
  adjacentRuns,
  analyticsActiveIndex,
  analyticsActivityCounter,
  analyticsKeptCounter,
  atMonthEnd,
  changeDayLastIndex,
  changeFirstIndex,
  changeLastIndex,
  changeScope,
  durationBin,
  eventScope,
  durationIndex,
  durationSubBin,
  keptCaptures,
  keptChangeMonths,
  keptChangeSubBins,
  keptEventMonths,
  keptPeriodPairs,
  pairScope,
  scopeCounters,
  shareAt,
  shareOf,
  startValueOf,
  startValuesIndex,
  subBinsOf,
  totalsCounter,
  withCounters,
} from './analytics-aggregates';
import { analyticsProjection } from './analytics.projection';
import { fromAggregates, fromRecentDeals, queryCycleLength } from './analytics.query';
import { type AnalyticsOptions, computeCycleAnalytics, dayMs, type GroupBy, groupKey, utcDay, utcMonth } from './cycle-metrics';
import { changedIn, type DealTimeline, latestTime, timelineAt } from './deal-timeline';
import { at, eur, leadCaptured, lost, negotiated, proposalSent, qualified } from '../pipeline/testing/deal-events';
import { dealStream } from '../pipeline/testing/in-memory-read-model';
import { cycleFixtureEvents, day } from './testing/cycle-fixture';
import { eventTimes, projected, readsOf, timelines } from './testing/projected-deals';
import { randomDeals, randomDealsStart as start } from './testing/random-deals';

/** As a read model projected before the change months existed counts them: one deal short. */
function withoutChangeMonths(store: InMemoryReadModelStore): InMemoryReadModelStore {
  store.apply([{ kind: 'increment', counter: analyticsKeptCounter, field: keptChangeMonths, by: -1 }]);
  return store;
}

/** The last millisecond of the UTC month of an instant. */
function endOfMonth(time: number): number {
  const date = new Date(time);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) - 1;
}

/** When the latest of the deals' events happened: the close, or the latest stint's entry. */
function lastEventOf(deals: readonly DealTimeline[]): number {
  return Math.max(...deals.map((timeline) => timeline.closedAt ?? timeline.stints.at(-1)!.enteredAt));
}

describe('analytics pre-aggregates', () => {
  const store = projected(randomDeals(400, 7));
  const all = timelines(store);
  const end = lastEventOf(all);
  const month = (m: number) => Date.UTC(2025, m - 1, 1);
  const asOfs = { after: end + dayMs, atTheEnd: end, dayBefore: end - dayMs, monthBefore: end - 30 * dayMs, midway: start + 100 * dayMs, aMonthStart: month(4), early: start + 5 * dayMs, beforeAny: start - dayMs };
  const windows = { none: {}, quarter: { from: month(2), to: month(5) }, fromApril: { from: month(4) }, untilMarch: { to: month(3) } };
  const cases = Object.entries(asOfs).flatMap(([asOfName, asOf]) =>
    Object.entries(windows).flatMap(([windowName, window]) =>
      ([undefined, 'owner', 'source', 'month'] as const)
        .filter((groupBy) => windowName === 'none' || groupBy === undefined || groupBy === 'month')
        .map((groupBy) => ({ asOfName, windowName, groupBy, asOf, window })),
    ),
  );

  it.each(cases)('answer exactly what a scan of every timeline answers: asOf $asOfName, window $windowName, groupBy $groupBy', async ({ asOf, window, groupBy }) => {
    const options: AnalyticsOptions = { basis: 'cohort', asOf, groupBy: groupBy as GroupBy | undefined, ...window };
    expect(await fromAggregates(store, options)).toEqual(computeCycleAnalytics(all, options));
  });

  it.each(cases)(
    'answer a question about an instant long past from the capture months up to it, exactly as a scan does: asOf $asOfName, window $windowName, groupBy $groupBy',
    async ({ asOf, window, groupBy }) => {
      const options: AnalyticsOptions = { basis: 'cohort', asOf, groupBy: groupBy as GroupBy | undefined, ...window };
      // No deal corrected across every month: each question that any deal changed after goes by the months.
      const answer = await fromAggregates(store, options, { maxCorrected: 0 });
      const answered = (groupBy !== 'owner' && groupBy !== 'source') || all.every((timeline) => latestTime(timeline) <= asOf);
      expect(answer).toEqual(answered ? computeCycleAnalytics(all, options) : undefined);
    },
  );

  // Periods from a UTC month start, ungrouped: what happened in the event months, what stood at the horizon.
  const periods = { quarter: { from: month(2), to: month(5) }, fromApril: { from: month(4) }, toMidMonth: { from: month(2), to: month(4) + 12 * dayMs + 12_345 } };
  const periodCases = Object.entries(asOfs).flatMap(([asOfName, asOf]) => Object.entries(periods).map(([windowName, window]) => ({ asOfName, windowName, asOf, window })));

  it.each(periodCases)('answer a period from a month start exactly as a scan does: asOf $asOfName, window $windowName', async ({ asOf, window }) => {
    const options: AnalyticsOptions = { basis: 'period', asOf, ...window };
    expect(await fromAggregates(store, options)).toEqual(computeCycleAnalytics(all, options));
  });

  it.each(periodCases)(
    'answer a period that ends long past from the capture months up to its end, exactly as a scan does: asOf $asOfName, window $windowName',
    async ({ asOf, window }) => {
      const options: AnalyticsOptions = { basis: 'period', asOf, ...window };
      expect(await fromAggregates(store, options, { maxCorrected: 0 })).toEqual(computeCycleAnalytics(all, options));
    },
  );

  describe('given durations that tie (every event at midnight)', () => {
    const tied = projected(randomDeals(400, 11, dayMs));
    const tiedDeals = timelines(tied);
    const last = lastEventOf(tiedDeals);

    it.each([
      ['a day before the last event', last - dayMs],
      ['a month before it', last - 30 * dayMs],
      ['midway', start + 100 * dayMs],
    ])('when asked as of %s, then the corrected percentiles skip one tied entry per deal moved, as a scan counts them', async (_, asOf) => {
      for (const groupBy of [undefined, 'month'] as const) {
        const options: AnalyticsOptions = { basis: 'cohort', asOf, groupBy };
        expect(await fromAggregates(tied, options)).toEqual(computeCycleAnalytics(tiedDeals, options));
        expect(await fromAggregates(tied, options, { maxCorrected: 0 })).toEqual(computeCycleAnalytics(tiedDeals, options));
      }
      const period: AnalyticsOptions = { basis: 'period', asOf, from: Date.UTC(2025, 1, 1) };
      expect(await fromAggregates(tied, period, { maxCorrected: 0 })).toEqual(computeCycleAnalytics(tiedDeals, period));
    });
  });

  it('correct, for an instant long past, only the deals captured by then and changed after it', async () => {
    // Late in its month: the month's totals, less its deals not captured yet. Every deal, asked of a
    // read model without the change months, and by capture month, take this way.
    const older = withoutChangeMonths(projected(randomDeals(400, 7)));
    const asOf = endOfMonth(asOfs.midway) - 2 * dayMs;
    const expected = all.filter((timeline) => timeline.capturedAt <= endOfMonth(asOf) && latestTime(timeline) > asOf).map((timeline) => timeline.dealId);
    const changedAfter = all.filter((timeline) => latestTime(timeline) > asOf).length;
    expect(expected.length).toBeLessThan(changedAfter);
    for (const [model, groupBy] of [[older, undefined], [store, 'month']] as const) {
      const { answer, read } = await readsOf(model, () => fromAggregates(model, { basis: 'cohort', asOf, groupBy }, { maxCorrected: 0 }));
      expect(answer).toEqual(computeCycleAnalytics(all, { basis: 'cohort', asOf, groupBy }));
      expect(read.sort()).toEqual(expected.sort());
    }
    expect(await fromAggregates(older, { basis: 'cohort', asOf }, { maxCorrected: 0, maxPast: expected.length })).toBeDefined();
    expect(await fromAggregates(older, { basis: 'cohort', asOf }, { maxCorrected: 0, maxPast: expected.length - 1 })).toBeUndefined();
  });

  // An instant late in its month, whose nearer end is the month's last, and one early in a month,
  // whose nearer end is the instant before it; with the span each question corrects.
  const nearerEnds: Array<[string, number, (time: number) => readonly [number, number]]> = [
    ['late in its month, from its end', endOfMonth(asOfs.midway) - 2 * dayMs + 4_321, (time) => [time, endOfMonth(time)]],
    ['early in its month, from its start', endOfMonth(asOfs.midway - 31 * dayMs) + 2 * dayMs + 4_321, (time) => [endOfMonth(time - 31 * dayMs), time]],
  ];

  describe('every deal as of an instant long past, from the change months', () => {
    it.each(nearerEnds)('when asked %s, then only deals changed between that end and the instant are read, every one that moved then among them, and the answer is the scan’s', async (_, asOf, window) => {
      const [after, until] = window(asOf);
      const changed = all.filter((timeline) => changedIn(timeline, after, until)).map((timeline) => timeline.dealId);
      const shareText = (timeline: DealTimeline, time: number) => {
        const { fields, durations } = shareAt(timeline, time);
        return JSON.stringify([[...fields].sort(), [...durations].sort()]);
      };
      const moved = all.filter((timeline) => shareText(timeline, after) !== shareText(timeline, until));
      const inFlight = all.filter((timeline) => timeline.capturedAt <= asOf && latestTime(timeline) > asOf).length;
      expect(moved.length).toBeGreaterThan(0);
      expect(changed.length).toBeLessThan(inFlight);
      const { answer, read } = await readsOf(store, () => fromAggregates(store, { basis: 'cohort', asOf }, { maxCorrected: 0 }));
      expect(answer).toEqual(computeCycleAnalytics(all, { basis: 'cohort', asOf }));
      expect(changed).toEqual(expect.arrayContaining(read));
      expect(read).toEqual(expect.arrayContaining(moved.map((timeline) => timeline.dealId)));
      // Beyond the limit they leave it to the capture months, which correct more, and so to the scan.
      expect(await fromAggregates(store, { basis: 'cohort', asOf }, { maxCorrected: 0, maxPast: read.length })).toBeDefined();
      expect(await fromAggregates(store, { basis: 'cohort', asOf }, { maxCorrected: 0, maxPast: read.length - 1 })).toBeUndefined();
    });

    it('when tied values a later month replaced are among the nearest read, then one more is read for each, and the answer is still the change months’', async () => {
      // Twenty deals spend 3 days in proposal in January; five go back to it in February, to 13 days in all.
      const deals = Array.from({ length: 20 }, (_, index) => {
        const id = `tie-${index}`;
        const back = index < 5 ? [proposalSent(at(2, 10), eur(900), { revision: 2 }), negotiated(at(2, 20), { round: 2 })] : [];
        return dealStream(id, [
          leadCaptured(at(1, 2), { dealId: id, owner: 'ann', source: 'web', estimatedValue: eur(1_000) }),
          qualified(at(1, 3)),
          proposalSent(at(1, 4), eur(900)),
          negotiated(at(1, 7), { round: 1 }),
          ...back,
          lost(at(4, 1)),
        ]);
      });
      const events = deals.flat().sort((a, b) => Date.parse(a.event.occurredAt) - Date.parse(b.event.occurredAt));
      const tied = projected(events);
      const options: AnalyticsOptions = { basis: 'cohort', asOf: Date.parse(at(2, 25)) };
      const { answer, read } = await readsOf(tied, () => fromAggregates(tied, options, { maxCorrected: 0 }));
      expect(answer).toEqual(computeCycleAnalytics(timelines(tied), options));
      // Nothing changed between the instant and its month's end: the capture months would have read all twenty.
      expect(read).toEqual([]);
    });

    it('add up, over every month, to the totals of every deal as it stands', () => {
      const totals = store.settledCounters('analytics:t:');
      const summed: Record<string, number> = {};
      for (const [counter, fields] of Object.entries(totals)) {
        if (!counter.startsWith(totalsCounter(changeScope('')))) continue;
        for (const [field, value] of Object.entries(fields)) summed[field] = (summed[field] ?? 0) + value;
      }
      const nonZero = (fields: Record<string, number>) => Object.fromEntries(Object.entries(fields).filter(([, value]) => Math.abs(value) > 1e-6));
      expect(nonZero(summed)).toEqual(nonZero(totals[totalsCounter('all')]!));
    });

    it('cut their bins into sub-bins that add up, over every month, to those of every deal as it stands, more coarsely cut', () => {
      const summed: Record<string, Record<string, number>> = {};
      for (const [counter, fields] of Object.entries(store.settledCounters('analytics:f:change:'))) {
        const key = counter.replace(/^analytics:f:change:\d{4}-\d{2}:/, 'analytics:f:all:');
        for (const [field, value] of Object.entries(fields)) (summed[key] ??= {})[field] = (summed[key]![field] ?? 0) + value;
      }
      // A sub-bin of a coarser cut holds the finer ones it divides into (the cuts are exact).
      const coarser = subBinsOf('all') / subBinsOf(changeScope('2025-01'));
      const everyDeal: Record<string, Record<string, number>> = {};
      for (const [counter, fields] of Object.entries(store.settledCounters('analytics:f:all:'))) {
        for (const [field, value] of Object.entries(fields)) {
          const sub = String(Math.floor(Number(field) / coarser));
          (everyDeal[counter] ??= {})[sub] = (everyDeal[counter]![sub] ?? 0) + value;
        }
      }
      const nonZero = (counters: Record<string, Record<string, number>>) =>
        Object.fromEntries(
          Object.entries(counters)
            .map(([counter, fields]) => [counter, Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== 0))] as const)
            .filter(([, fields]) => Object.keys(fields).length > 0),
        );
      expect(Object.keys(summed).length).toBeGreaterThan(10);
      expect(coarser).toBeGreaterThan(1);
      expect(nonZero(summed)).toEqual(nonZero(everyDeal));
    });

    it('read the percentiles a sub-bin at a time, a fraction of the scores whole bins take; a read model projected before the sub-bins answers the same from whole bins', async () => {
      const older = projected(randomDeals(400, 7));
      older.apply([{ kind: 'increment', counter: analyticsKeptCounter, field: keptChangeSubBins, by: -1 }]);
      const options: AnalyticsOptions = { basis: 'cohort', asOf: endOfMonth(asOfs.midway) - 2 * dayMs + 4_321 };
      const reads = async (model: InMemoryReadModelStore) => {
        const union = jest.spyOn(model, 'unionScores');
        const counters = jest.spyOn(model, 'counters');
        try {
          const answer = await fromAggregates(model, options, { maxCorrected: 0 });
          const scores = (await Promise.all(union.mock.results.map((result) => result.value as Promise<number[]>))).flat().length;
          return { answer, scores, subBins: counters.mock.calls.filter(([counter]) => counter.startsWith('analytics:f:change:')).length };
        } finally {
          union.mockRestore();
          counters.mockRestore();
        }
      };
      const [cut, whole] = [await reads(store), await reads(older)];
      expect(cut.answer).toEqual(computeCycleAnalytics(all, options));
      expect(whole.answer).toEqual(cut.answer);
      expect(cut.subBins).toBeGreaterThan(0);
      expect(whole.subBins).toBe(0);
      expect(cut.scores).toBeLessThan(whole.scores);
    });

    it('index each deal’s first and last change in every month it changed in, and its last in every day', () => {
      const expected = new Map<string, Record<string, number>>();
      const keep = (index: string, dealId: string, time: number, earliest: boolean) => {
        const entries = expected.get(index) ?? {};
        const kept = entries[dealId];
        entries[dealId] = kept === undefined ? time : earliest ? Math.min(kept, time) : Math.max(kept, time);
        expected.set(index, entries);
      };
      for (const deal of all) {
        for (const time of eventTimes(deal)) {
          const [month, day] = [utcMonth(time), utcDay(time)];
          keep(changeFirstIndex(month), deal.dealId, time, true);
          keep(changeLastIndex(month), deal.dealId, time, false);
          keep(changeDayLastIndex(day), deal.dealId, time, false);
        }
      }
      const firstsAndLasts = /^analytics:(cf|cl|dl):/;
      expect([...store.indexes.keys()].filter((index) => firstsAndLasts.test(index)).sort()).toEqual([...expected.keys()].sort());
      for (const [index, entries] of expected) expect([index, store.indexEntries(index)]).toEqual([index, entries]);
      // Some deal changed more than once in a day, so the last is not merely the one written first.
      const firsts = new Map<string, number>();
      for (const deal of all) for (const time of eventTimes(deal)) firsts.set(`${deal.dealId} ${utcDay(time)}`, Math.min(firsts.get(`${deal.dealId} ${utcDay(time)}`) ?? Infinity, time));
      expect([...expected].some(([index, entries]) => index.includes(':dl:') && Object.entries(entries).some(([dealId, time]) => firsts.get(`${dealId} ${index.slice(-10)}`) !== time))).toBe(true);
    });

    it('keep, where a deal’s duration moved again in a later month, its value at that month’s start beside its value at the end', () => {
      const replaced = Object.entries(store.indexEntries(startValuesIndex('proposal:cumulative'))).map(([member, was]) => ({ ...startValueOf(member), was }));
      expect(replaced.length).toBeGreaterThan(0);
      for (const { month, dealId: deal, was } of replaced) {
        const scope = changeScope(month);
        const timeline = all.find((candidate) => candidate.dealId === deal)!;
        const monthStart = Date.parse(`${month}-01T00:00:00Z`);
        expect(shareAt(timeline, monthStart - 1).durations.get('proposal:cumulative')).toBe(was);
        expect(store.indexEntries(durationIndex(scope, 'proposal:cumulative'))[deal]).toBe(shareAt(timeline, endOfMonth(monthStart)).durations.get('proposal:cumulative'));
      }
    });

    it('are not trusted in a read model projected before they existed: the capture months answer', async () => {
      const older = withoutChangeMonths(projected(randomDeals(400, 7)));
      const asOf = endOfMonth(asOfs.midway) - 2 * dayMs;
      const { answer, read } = await readsOf(older, () => fromAggregates(older, { basis: 'cohort', asOf }, { maxCorrected: 0 }));
      expect(answer).toEqual(computeCycleAnalytics(all, { basis: 'cohort', asOf }));
      expect(read.length).toBe(all.filter((timeline) => timeline.capturedAt <= endOfMonth(asOf) && latestTime(timeline) > asOf).length);
    });
  });

  describe('a period from a month start that ends long past, from the period pairs', () => {
    const period = (horizon: number): AnalyticsOptions => ({ basis: 'period', from: month(2), to: horizon + 1, asOf: end + dayMs });
    const inFlightAt = (horizon: number) => all.filter((timeline) => timeline.capturedAt <= horizon && latestTime(timeline) > horizon).length;

    it.each(nearerEnds)('when it ends %s, then only deals changed between that end and its own are read, and the answer is the scan’s', async (_, horizon, window) => {
      const [after, until] = window(horizon);
      const changed = all.filter((timeline) => changedIn(timeline, after, until)).map((timeline) => timeline.dealId);
      expect(changed.length).toBeLessThan(inFlightAt(horizon));
      const { answer, read } = await readsOf(store, () => fromAggregates(store, period(horizon), { maxCorrected: 0 }));
      expect(answer).toEqual(computeCycleAnalytics(all, period(horizon)));
      expect(read.length).toBeGreaterThan(0);
      expect(changed).toEqual(expect.arrayContaining(read));
      // Beyond the limit they leave it to the capture months, which correct every deal in flight, and so to the scan.
      expect(await fromAggregates(store, period(horizon), { maxCorrected: 0, maxPast: read.length - 1 })).toBeUndefined();
    });

    it('when it ends at a month’s end, then no deal is read at all, though many were in flight', async () => {
      const horizon = month(5) - 1;
      expect(inFlightAt(horizon)).toBeGreaterThan(10);
      const { answer, read } = await readsOf(store, () => fromAggregates(store, period(horizon), { maxCorrected: 0 }));
      expect(answer).toEqual(computeCycleAnalytics(all, period(horizon)));
      expect(read).toEqual([]);
    });

    it('when it spans many months, then no index of a pair that no event reached is read, and the answer is the scan’s', async () => {
      const horizon = month(8) - 1;
      const months = Array.from({ length: 6 }, (_, m) => new Date(month(m + 2)).toISOString().slice(0, 7));
      const triangle = months.flatMap((pairMonth, index) => months.slice(index).map((during) => pairScope(pairMonth, during)));
      const untouched = [];
      for (const pair of triangle) if (Object.keys(await store.counters(totalsCounter(pair))).length === 0) untouched.push(pair);
      expect(untouched.length).toBeGreaterThan(0);
      expect(untouched.length).toBeLessThan(triangle.length);
      // Percentiles read one index (scores) or a union of them (unionScores).
      const alone = jest.spyOn(store, 'scores');
      const together = jest.spyOn(store, 'unionScores');
      const answer = await fromAggregates(store, period(horizon), { maxCorrected: 0 });
      const read = new Set([...alone.mock.calls.map(([index]) => index), ...together.mock.calls.flatMap(([indexes]) => indexes)]);
      alone.mockRestore();
      together.mockRestore();
      expect(answer).toEqual(computeCycleAnalytics(all, period(horizon)));
      expect(triangle.some((pair) => [...read].some((index) => index.endsWith(`:${pair}`)))).toBe(true);
      expect(untouched.filter((pair) => [...read].some((index) => index.endsWith(`:${pair}`)))).toEqual([]);
    });

    it('are not trusted in a read model projected before they existed: the capture months answer, correcting every deal in flight', async () => {
      const older = projected(randomDeals(400, 7));
      older.apply([{ kind: 'increment', counter: analyticsKeptCounter, field: keptPeriodPairs, by: -1 }]);
      const horizon = month(5) - 1;
      const { answer, read } = await readsOf(older, () => fromAggregates(older, period(horizon), { maxCorrected: 0 }));
      expect(answer).toEqual(computeCycleAnalytics(all, period(horizon)));
      expect(read.length).toBe(inFlightAt(horizon));
    });
  });

  it('early in its month, add whole the deals of that month captured by then, rather than correct the month for the rest', async () => {
    const asOf = endOfMonth(asOfs.midway - 31 * dayMs) + 2 * dayMs;
    const month = new Date(asOf).toISOString().slice(0, 7);
    const ofTheMonth = all.filter((timeline) => groupKey(timeline, 'month') === month);
    const capturedByThen = ofTheMonth.filter((timeline) => timeline.capturedAt <= asOf).map((timeline) => timeline.dealId);
    expect(capturedByThen.length).toBeLessThan(ofTheMonth.length - capturedByThen.length);
    const earlierChanged = all.filter((timeline) => groupKey(timeline, 'month') < month && latestTime(timeline) > asOf).map((timeline) => timeline.dealId);
    // Every deal goes by the change months where they are kept.
    for (const [model, groupBy] of [[withoutChangeMonths(projected(randomDeals(400, 7))), undefined], [store, 'month']] as const) {
      const { answer, read } = await readsOf(model, () => fromAggregates(model, { basis: 'cohort', asOf, groupBy }, { maxCorrected: 0 }));
      expect(answer).toEqual(computeCycleAnalytics(all, { basis: 'cohort', asOf, groupBy }));
      expect(read.sort()).toEqual([...earlierChanged, ...capturedByThen].sort());
    }
    // A read model projected before the capture index existed corrects the month as before.
    const older = withoutChangeMonths(projected(randomDeals(400, 7)));
    older.apply([{ kind: 'increment', counter: analyticsKeptCounter, field: keptCaptures, by: -1 }]);
    const { answer, read } = await readsOf(older, () => fromAggregates(older, { basis: 'cohort', asOf }, { maxCorrected: 0 }));
    expect(answer).toEqual(computeCycleAnalytics(all, { basis: 'cohort', asOf }));
    expect(read.length).toBe(all.filter((timeline) => groupKey(timeline, 'month') <= month && latestTime(timeline) > asOf).length);
  });

  it('do not answer by the capture months from a read model whose month indexes miss deals captured before they existed', async () => {
    const older = projected(randomDeals(60, 9));
    const firstMonth = new Date(start).toISOString().slice(0, 7);
    // As a read model upgraded in place counts: deals captured before the upgrade are in its groups only.
    older.apply([{ kind: 'increment', counter: analyticsActivityCounter, field: firstMonth, by: -1 }]);
    const options: AnalyticsOptions = { basis: 'cohort', asOf: asOfs.midway, groupBy: 'month' };
    expect(await fromAggregates(older, options, { maxCorrected: 0 })).toBeUndefined();
    expect(await fromAggregates(older, { ...options, from: month(3) }, { maxCorrected: 0 })).toEqual(computeCycleAnalytics(timelines(older), { ...options, from: month(3) }));
    // Every deal, ungrouped, goes by the change months, which do not depend on the capture months' indexes.
    expect(await fromAggregates(older, { ...options, groupBy: undefined }, { maxCorrected: 0 })).toEqual(computeCycleAnalytics(timelines(older), { ...options, groupBy: undefined }));
  });

  it.each([
    { name: 'to a recent end', to: end - 3 * dayMs, asOf: asOfs.after, groupBy: undefined },
    { name: 'to an end long past, by month', to: month(4), asOf: asOfs.after, groupBy: 'month' as const },
    { name: 'as of an instant before its end, by owner', to: end, asOf: asOfs.midway, groupBy: 'owner' as const },
    { name: 'with no end', to: undefined, asOf: asOfs.monthBefore, groupBy: 'source' as const },
  ])('answer a period with no start from the totals, as the cohort as of its end: $name', async ({ to, asOf, groupBy }) => {
    const scans = jest.spyOn(store, 'scan');
    const view = await queryCycleLength(store, { basis: 'period', to: to === undefined ? undefined : new Date(to), groupBy }, new Date(asOf));
    expect(scans).not.toHaveBeenCalled();
    scans.mockRestore();
    expect(view).toEqual(expect.objectContaining({ basis: 'period', from: null, ...computeCycleAnalytics(all, { basis: 'period', to, asOf, groupBy }) }));
  });

  it('do not answer a period from the event months of a read model projected before they existed', async () => {
    const older = projected(randomDeals(60, 9));
    // As a read model upgraded in place counts: deals captured before the upgrade are not in the event months.
    older.apply([{ kind: 'increment', counter: analyticsKeptCounter, field: keptEventMonths, by: -1 }]);
    const options: AnalyticsOptions = { basis: 'period', asOf: asOfs.after, from: month(2) };
    expect(await fromAggregates(older, options)).toBeUndefined();
    expect(await fromAggregates(older, { basis: 'cohort', asOf: asOfs.after })).toEqual(computeCycleAnalytics(timelines(older), { basis: 'cohort', asOf: asOfs.after }));
  });

  it('are not used where they do not answer: a period from off a month start or grouped, a window off month boundaries, grouping by owner inside a window', async () => {
    const asOf = asOfs.after;
    expect(await fromAggregates(store, { basis: 'period', asOf, from: month(2) + 1, to: month(3) })).toBeUndefined();
    expect(await fromAggregates(store, { basis: 'period', asOf, from: month(2), to: month(3), groupBy: 'month' })).toBeUndefined();
    expect(await fromAggregates(store, { basis: 'cohort', asOf, from: month(2) + 1 })).toBeUndefined();
    expect(await fromAggregates(store, { basis: 'cohort', asOf, from: month(2), to: month(3), groupBy: 'owner' })).toBeUndefined();
  });

  it('hand the question to the scan when more deals changed after asOf than they correct', async () => {
    const options: AnalyticsOptions = { basis: 'cohort', asOf: asOfs.midway, groupBy: 'source' };
    expect(await fromAggregates(store, options, { maxCorrected: 10 })).toBeUndefined();
    expect(await queryCycleLength(store, { basis: 'cohort', asOf: new Date(asOfs.midway), groupBy: 'source' }, new Date(asOfs.after))).toEqual(
      expect.objectContaining(computeCycleAnalytics(all, options)),
    );
  });

  it('a read torn by a commit (an index short of its histogram) is answered by the scan, never wrongly', async () => {
    const torn = projected(randomDeals(50, 3));
    const victim = Object.keys(torn.indexEntries(durationIndex('all', 'cycle')))[0]!;
    torn.apply([{ kind: 'unindex', index: durationIndex('all', 'cycle'), member: victim }]);
    const options: AnalyticsOptions = { basis: 'cohort', asOf: asOfs.after };
    expect(await fromAggregates(torn, options)).toBeUndefined();
    const view = await queryCycleLength(torn, { basis: 'cohort' }, new Date(asOfs.after));
    expect(view.cycleLength).toEqual(computeCycleAnalytics(timelines(torn), options).cycleLength);
  });
});

describe('a window that starts recently, from the deals changed since its start', () => {
  const store = projected(randomDeals(400, 11));
  const all = timelines(store);
  const end = lastEventOf(all);
  const changedSince = (from: number) => all.filter((timeline) => latestTime(timeline) >= from).length;
  const starts = { monthBefore: end - 30 * dayMs + 12_345, weekBefore: end - 7 * dayMs, fiveMonthsIn: start + 150 * dayMs + 1 };
  const asOfs = { after: end + dayMs, dayBefore: end - dayMs, twoWeeksBefore: end - 14 * dayMs };
  const cases = (['cohort', 'period'] as const).flatMap((basis) =>
    Object.entries(starts).flatMap(([fromName, from]) =>
      Object.entries(asOfs).flatMap(([asOfName, asOf]) =>
        ([undefined, 'owner', 'source', 'month'] as const).flatMap((groupBy) =>
          [undefined, end - 3 * dayMs].map((to) => ({ basis, fromName, asOfName, groupBy, from, asOf, to })),
        ),
      ),
    ),
  );

  it.each(cases)('answers exactly what a scan answers: $basis from $fromName, asOf $asOfName, to $to, groupBy $groupBy', async ({ basis, from, asOf, to, groupBy }) => {
    const options: AnalyticsOptions = { basis, from, to, asOf, groupBy: groupBy as GroupBy | undefined };
    const horizon = Math.min(asOf, (to ?? Infinity) - 1);
    const answer = await fromRecentDeals(store, options);
    // A period seen before it starts is left to the scan.
    if (basis === 'period' && horizon < from) expect(answer).toBeUndefined();
    else expect(answer).toEqual(computeCycleAnalytics(all, options));
  });

  it('leaves out of a period a group whose deals all came after it, as the scan does', async () => {
    const lastCapture = new Date(Math.max(...all.map((timeline) => timeline.capturedAt)));
    const to = Date.UTC(lastCapture.getUTCFullYear(), lastCapture.getUTCMonth(), 1);
    const options: AnalyticsOptions = { basis: 'period', from: to - 20 * dayMs, to, asOf: asOfs.after, groupBy: 'month' };
    const lastMonth = lastCapture.toISOString().slice(0, 7);
    expect(all.some((timeline) => groupKey(timeline, 'month') === lastMonth)).toBe(true);
    const answer = await fromRecentDeals(store, options);
    expect(answer?.groups.map((group) => group.key)).not.toContain(lastMonth);
    expect(answer).toEqual(computeCycleAnalytics(all, options));
  });

  it('leaves a period to the scan when a commit lands between its reads', async () => {
    const events = randomDeals(60, 5);
    const torn = projected(events.slice(0, 200));
    const from = Date.parse(events[150]!.event.occurredAt);
    const options: AnalyticsOptions = { basis: 'period', from, asOf: asOfs.after, groupBy: 'owner' };
    const getMany = torn.getMany.bind(torn);
    jest.spyOn(torn, 'getMany').mockImplementationOnce(async (collection, ids) => {
      torn.project(analyticsProjection, events.slice(200));
      return getMany(collection, ids);
    });
    expect(await fromRecentDeals(torn, options)).toBeUndefined();
    expect(await fromRecentDeals(torn, options)).toEqual(computeCycleAnalytics(timelines(torn), options));
  });

  it('reads only the deals changed since the window starts, and leaves the question to the scan beyond its limit', async () => {
    const from = starts.fiveMonthsIn;
    const recent = changedSince(from);
    expect(recent).toBeGreaterThan(10);
    expect(recent).toBeLessThan(all.length / 2);
    const options: AnalyticsOptions = { basis: 'cohort', from, asOf: asOfs.after, groupBy: 'owner' };
    const reads = jest.spyOn(store, 'getMany');
    await fromRecentDeals(store, options);
    expect(reads.mock.calls.map(([, ids]) => ids.length)).toEqual([recent]);
    reads.mockRestore();
    expect(await fromRecentDeals(store, options, recent)).toBeDefined();
    expect(await fromRecentDeals(store, options, recent - 1)).toBeUndefined();
  });

  it.each(['cohort', 'period'] as const)('answers such a question to the API without a scan of every timeline: %s basis', async (basis) => {
    const scans = jest.spyOn(store, 'scan');
    const view = await queryCycleLength(store, { basis, from: new Date(starts.weekBefore), groupBy: 'source' }, new Date(asOfs.after));
    expect(scans).not.toHaveBeenCalled();
    scans.mockRestore();
    expect(view).toEqual(expect.objectContaining(computeCycleAnalytics(all, { basis, from: starts.weekBefore, asOf: asOfs.after, groupBy: 'source' })));
  });

  it('is not used for a window with no start, or a read model without the activity index', async () => {
    expect(await fromRecentDeals(store, { basis: 'cohort', to: starts.weekBefore, asOf: asOfs.after })).toBeUndefined();
    expect(await fromRecentDeals(store, { basis: 'period', to: starts.weekBefore, asOf: asOfs.after })).toBeUndefined();
    const older = projected(randomDeals(20, 3));
    older.apply(Object.keys(older.indexEntries(analyticsActiveIndex)).map((member) => ({ kind: 'unindex' as const, index: analyticsActiveIndex, member })));
    expect(await fromRecentDeals(older, { basis: 'cohort', from: start, asOf: asOfs.after })).toBeUndefined();
  });
});

describe('a stored deal cut at a month end', () => {
  const deals = timelines(projected(randomDeals(50, 3)));
  const boundary = Date.UTC(2025, 2, 1) - 1;
  const moving = deals.find((deal) => deal.capturedAt <= boundary && latestTime(deal) > boundary)!;

  it('is cut once per month end for a frozen timeline, and its shares derived once from that cut', () => {
    const deal = Object.freeze({ ...moving });
    const cut = atMonthEnd(deal, boundary);
    expect(cut).toEqual(timelineAt(deal, boundary));
    expect(atMonthEnd(deal, boundary)).toBe(cut);
    expect(shareOf(cut!)).toBe(shareOf(atMonthEnd(deal, boundary)!));
    expect(atMonthEnd(deal, boundary + 31 * dayMs)).toEqual(timelineAt(deal, boundary + 31 * dayMs));
    expect(atMonthEnd(deal, boundary)).not.toBe(cut);
  });

  it('is cut afresh for a timeline that is not frozen, which may still change', () => {
    const deal = { ...moving };
    expect(atMonthEnd(deal, boundary)).toEqual(timelineAt(deal, boundary));
    expect(atMonthEnd(deal, boundary)).not.toBe(atMonthEnd(deal, boundary));
  });
});

describe('histogram bins', () => {
  it('every duration falls in one bin and one sub-bin, in order', () => {
    const next = seededRandom(11);
    const samples = [-5, 0, 1, 59_999, 60_000, 86_400_000, ...Array.from({ length: 2_000 }, () => Math.floor(next() * 400 * dayMs))].sort((a, b) => a - b);
    const keys = samples.map((ms) => [durationBin(ms), durationSubBin(ms, durationBin(ms), subBinsOf('all'))] as const);
    for (let index = 1; index < keys.length; index++) {
      const [bin, sub] = keys[index]!;
      const [binBefore, subBefore] = keys[index - 1]!;
      expect(bin > binBefore || (bin === binBefore && sub >= subBefore)).toBe(true);
      expect(sub).toBeGreaterThanOrEqual(0);
      expect(sub).toBeLessThan(64);
    }
  });
});

describe('the positions a percentile reads', () => {
  it('given an even count\'s median and a p90, when grouped, then adjacent positions share one read', () => {
    expect(adjacentRuns([49, 50, 89, 90])).toEqual([
      { first: 49, last: 50 },
      { first: 89, last: 90 },
    ]);
  });

  it('given positions out of order, repeated and apart, when grouped, then each run is sorted and each position read once', () => {
    expect(adjacentRuns([7, 3, 4, 4, 9, 8, 0])).toEqual([
      { first: 0, last: 0 },
      { first: 3, last: 4 },
      { first: 7, last: 9 },
    ]);
    expect(adjacentRuns([])).toEqual([]);
  });
});

describe('a scope\'s counters brought up to date', () => {
  const kept = { won: 3, 'c:EUR:wonValue': 900, 'cycle#s': 50, 'cycle#40': 2, 'cycle#41': 1, 'proposal:latest#s': 7, 'proposal:latest#12': 1 };

  it('given counters kept, when changed fields are taken over them, then they read as the whole hash now would, and what was kept is unchanged', () => {
    const before = scopeCounters(kept);
    const changed = { won: 4, 'cycle#s': 80, 'cycle#41': 0, 'cycle#43': 1, 'lost': 1 };
    expect(withCounters(before, changed)).toEqual(scopeCounters({ ...kept, ...changed }));
    expect(before).toEqual(scopeCounters(kept));
  });

  it('given no field changed, then the kept maps are handed on as they are', () => {
    const before = scopeCounters(kept);
    const after = withCounters(before, {});
    expect([after.fields, after.bins, after.sums]).toEqual([before.fields, before.bins, before.sums]);
    expect(after.bins).toBe(before.bins);
    expect(withCounters(before, { 'cycle#40': 1 }).bins.get('proposal:latest')).toBe(before.bins.get('proposal:latest'));
  });
});

describe('what the projection adds up, on the hand-computed fixture', () => {
  const store = projected(cycleFixtureEvents());

  it('sums the shares of every deal as it stands now, per scope', () => {
    const totals = store.settledCounters(totalsCounter('all'))[totalsCounter('all')]!;
    // A B E won, C G lost, D F open; cycles 20 + 11 + 13 days.
    expect({ deals: totals['deals'], won: totals['won'], lost: totals['lost'], open: totals['open'] }).toEqual({ deals: 7, won: 3, lost: 2, open: 2 });
    expect(totals['cycle#s']).toBe(44 * dayMs);
    const histogram = Object.entries(totals).filter(([field]) => /^cycle#\d+$/.test(field));
    expect(histogram.reduce((count, [, value]) => count + value, 0)).toBe(3);
    expect(totals[`cycle#${durationBin(11 * dayMs)}`]).toBeGreaterThanOrEqual(1);
    // Lead and qualified have one stint per deal: their latest stint is stored once, as cumulative.
    expect(Object.keys(totals).some((field) => field.startsWith('lead:latest'))).toBe(false);
    expect(store.settledCounters(totalsCounter('owner:bob'))[totalsCounter('owner:bob')]).toEqual(expect.objectContaining({ deals: 3, lost: 1, open: 2 }));
  });

  it('indexes each duration by deal, and the latest change of each deal', () => {
    expect(store.indexEntries(durationIndex('all', 'cycle'))).toEqual({ A: 20 * dayMs, B: 11 * dayMs, E: 13 * dayMs });
    expect(store.indexEntries(durationIndex('month:2025-02', 'cycle'))).toEqual({ E: 13 * dayMs });
    expect(store.indexEntries(durationIndex('owner:alice', 'proposal:cumulative'))).toEqual({ A: 8 * dayMs, B: 6 * dayMs, E: 3 * dayMs });
    expect(store.indexEntries(analyticsActiveIndex)).toEqual({ A: day(20), B: day(14), C: day(7), D: day(40), E: day(45), F: day(40), G: day(20) });
  });

  it('keeps what a period counts under the month it happened in, and nothing that stands', () => {
    const january = store.settledCounters(totalsCounter(eventScope('2025-01')))[totalsCounter(eventScope('2025-01'))]!;
    // Closed in January: A and B won, C and G lost; captured then: A, B, C, G. Open and the deals stand.
    expect({ won: january['won'], lost: january['lost'], reached: january['reached:lead'], open: january['open'], deals: january['deals'] }).toEqual({
      won: 2,
      lost: 2,
      reached: 4,
      open: undefined,
      deals: undefined,
    });
    expect(store.indexEntries(durationIndex(eventScope('2025-01'), 'cycle'))).toEqual({ A: 20 * dayMs, B: 11 * dayMs });
    expect(store.indexEntries(durationIndex(eventScope('2025-02'), 'cycle'))).toEqual({ E: 13 * dayMs });
    // Under the month each deal left proposal for the last time: A on day 15 (5 + 3 days), B on 14, G on 20, E on 39.
    expect(store.indexEntries(durationIndex(eventScope('2025-01'), 'proposal:cumulative'))).toEqual({ A: 8 * dayMs, B: 6 * dayMs, G: 7 * dayMs });
    expect(store.indexEntries(durationIndex(eventScope('2025-02'), 'proposal:cumulative'))).toEqual({ E: 3 * dayMs });
  });

  it('a deal that re-enters a stage leaves that stage’s durations until it leaves again', () => {
    const upToDay12 = projected(cycleFixtureEvents().filter((event) => Date.parse(event.event.occurredAt) <= day(12)));
    // A left proposal on day 10 (5 days) and re-entered it on day 12: in stage again.
    expect(upToDay12.indexEntries(durationIndex('all', 'proposal:cumulative'))).toEqual({});
    expect(upToDay12.indexEntries(durationIndex(eventScope('2025-01'), 'proposal:cumulative'))).toEqual({});
    expect(upToDay12.settledCounters(totalsCounter('all'))[totalsCounter('all')]).toEqual(expect.objectContaining({ 'still:proposal': 2 }));
  });

  it('running every event twice adds up to the same totals as running it once', () => {
    const twice = projected([...cycleFixtureEvents(), ...cycleFixtureEvents()]);
    expect(twice.settledCounters('analytics:')).toEqual(store.settledCounters('analytics:'));
    expect(twice.indexEntries(durationIndex('all', 'lead:latest'))).toEqual(store.indexEntries(durationIndex('all', 'lead:latest')));
  });
});
