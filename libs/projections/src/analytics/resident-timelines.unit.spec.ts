import { seededRandom } from '@deals/platform';
import { eur, leadCaptured, lost } from '../pipeline/testing/deal-events';
import { dealStream } from '../pipeline/testing/in-memory-read-model';
import { lateAfterMs } from './analytics-aggregates';
import { AnalyticsMemo } from './analytics-memo';
import { analyticsProjection } from './analytics.projection';
import { fromKeptScan } from './analytics.query';
import { type AnalyticsOptions, analyticsOfSums, computeCycleAnalytics, dayMs, groupings } from './cycle-metrics';
import { changedIn } from './deal-timeline';
import { ResidentTimelines } from './resident-timelines';
import { projected, readsOf, timelines } from './testing/projected-deals';
import { randomDeals, randomDealsStart as start } from './testing/random-deals';

const month = (m: number) => Date.UTC(2025, m - 1, 1);

describe('resident timelines', () => {
  const events = randomDeals(400, 11);
  const deals = timelines(projected(events));

  /** A window and horizon anywhere around the deals' half year: before them, inside, after; bounds open or on a month's start. */
  function randomQuestion(random: () => number): AnalyticsOptions {
    const instant = () => {
      const time = start - 30 * dayMs + Math.floor(random() * 240 * dayMs);
      return random() < 0.2 ? Date.UTC(new Date(time).getUTCFullYear(), new Date(time).getUTCMonth(), 1) : time;
    };
    const [a, b] = [instant(), instant()];
    return {
      basis: random() < 0.5 ? 'period' : 'cohort',
      from: random() < 0.15 ? undefined : Math.min(a, b),
      to: random() < 0.15 ? undefined : Math.max(a, b),
      asOf: instant(),
      groupBy: [undefined, ...groupings][Math.floor(random() * 4)],
    };
  }

  it('given every deal resident, when random questions of each basis and grouping are asked, then each sums to the scan’s', async () => {
    const resident = ResidentTimelines.of('g', 0, Infinity, deals);
    const random = seededRandom(5);
    for (let ask = 0; ask < 300; ask++) {
      const options = randomQuestion(random);
      expect(analyticsOfSums(await resident.sums(options))).toEqual(computeCycleAnalytics(deals, options));
    }
  });

  it('given a period long after most deals closed, then those count as deals of their groups only, as the scan counts them: a group of none else is still shown', async () => {
    // An owner whose one deal was lost before the deals above began.
    const early = dealStream('early', [leadCaptured(new Date(start - 9 * dayMs).toISOString(), { dealId: 'early', owner: 'eve', source: 'web', estimatedValue: eur(5_000) }), lost(new Date(start - 8 * dayMs).toISOString())], {
      firstPosition: events.length + 1,
    });
    const withEarly = timelines(projected([...events, ...early]));
    const resident = ResidentTimelines.of('g', 0, Infinity, withEarly);
    const late: AnalyticsOptions = { basis: 'period', from: month(7) + 12 * dayMs, to: month(8), asOf: month(9), groupBy: 'owner' };
    const closedBefore = withEarly.filter((deal) => deal.closedAt !== null && !changedIn(deal, late.from! - 1, Infinity));
    expect(closedBefore.length).toBeGreaterThan(withEarly.length / 2);
    const answer = analyticsOfSums(await resident.sums(late));
    expect(answer).toEqual(computeCycleAnalytics(withEarly, late));
    expect(answer.groups.map((group) => group.key)).toEqual(['ann', 'ben', 'cy', 'dee', 'eve']);
  });

  it('given timelines advanced with deals read again and a new one, then they sum as a scan of the new state, and the ones before are unchanged', async () => {
    const before = projected(events.slice(0, 900));
    const after = projected(events);
    const resident = ResidentTimelines.of('g', 0, Infinity, timelines(before));
    const moved = timelines(after).filter((deal) => deal.revision !== timelines(before).find((was) => was.dealId === deal.dealId)?.revision);
    expect(moved.some((deal) => !timelines(before).some((was) => was.dealId === deal.dealId))).toBe(true);
    const advanced = resident.advanced(Infinity, [...moved, undefined]);
    const random = seededRandom(9);
    for (let ask = 0; ask < 40; ask++) {
      const options = randomQuestion(random);
      expect(analyticsOfSums(await advanced.sums(options))).toEqual(computeCycleAnalytics(timelines(after), options));
      expect(analyticsOfSums(await resident.sums(options))).toEqual(computeCycleAnalytics(timelines(before), options));
    }
    expect(advanced.size).toBe(timelines(after).length);
  });
});

describe('a question no kept scan is near, from the resident timelines', () => {
  const events = randomDeals(400, 7);
  const latest = Math.max(...events.map((event) => Date.parse(event.event.occurredAt)));
  const periodByOwner: AnalyticsOptions = { basis: 'period', from: month(2) + 12_345, groupBy: 'owner', asOf: month(4) + 3 * dayMs };
  /** Kinds and windows no kept scan of another corrects: each would scan without the resident timelines. */
  const farApart: AnalyticsOptions[] = [
    { basis: 'cohort', from: month(1), to: month(2) + 7, groupBy: 'source', asOf: month(6) },
    { basis: 'period', from: month(5) + 3, to: month(6), groupBy: 'month', asOf: month(7) },
    { basis: 'cohort', from: month(4) - 9, groupBy: 'owner', asOf: month(4) + 20 * dayMs },
  ];

  function given(memo = new AnalyticsMemo()) {
    const store = projected(events);
    return { store, scans: jest.spyOn(store, 'scan'), memo };
  }

  it('given one scan, when questions of other kinds and far windows are asked, then no timeline is read again, and each answer is the scan’s', async () => {
    const { store, scans, memo } = given();
    await fromKeptScan(store, periodByOwner, memo);
    for (const options of farApart) {
      const { answer, read } = await readsOf(store, () => fromKeptScan(store, options, memo));
      expect(answer).toEqual(computeCycleAnalytics(timelines(store), options));
      expect(read).toEqual([]);
    }
    expect(scans).toHaveBeenCalledTimes(1);
  });

  it('given questions asked together before any timeline is resident, then one read serves them all', async () => {
    const { store, scans, memo } = given();
    const answers = await Promise.all([periodByOwner, ...farApart].map((options) => fromKeptScan(store, options, memo)));
    [periodByOwner, ...farApart].forEach((options, index) => expect(answers[index]).toEqual(computeCycleAnalytics(timelines(store), options)));
    expect(scans).toHaveBeenCalledTimes(1);
  });

  it('given more deals than the memo keeps resident, then none are kept, and each such question scans', async () => {
    const { store, scans, memo } = given(new AnalyticsMemo({ residentCapacity: timelines(projected(events)).length - 1 }));
    await fromKeptScan(store, periodByOwner, memo);
    for (const options of farApart) expect(await fromKeptScan(store, options, memo)).toEqual(computeCycleAnalytics(timelines(store), options));
    expect(scans).toHaveBeenCalledTimes(1 + farApart.length);
  });

  it('given an event that arrives late after they were read, then they are not used, and the answer counts it', async () => {
    const { store, scans, memo } = given();
    await fromKeptScan(store, periodByOwner, memo);
    const importedLate = dealStream('imported', [leadCaptured(new Date(month(1) + 5 * dayMs).toISOString(), { dealId: 'imported', owner: 'ann', source: 'web', estimatedValue: eur(5_000) })], {
      firstPosition: events.length + 1,
    });
    store.project(analyticsProjection, importedLate);
    const options = farApart[0]!;
    expect(await fromKeptScan(store, options, memo)).toEqual(computeCycleAnalytics(timelines(store), options));
    expect(scans).toHaveBeenCalledTimes(2);
  });

  /** Most events projected, the rest to come: the settled instant moves on when they are. */
  function givenEarly() {
    const cut = Math.floor(events.length * 0.8);
    const store = projected(events.slice(0, cut));
    return { store, scans: jest.spyOn(store, 'scan'), memo: new AnalyticsMemo(), early: events.slice(0, cut), rest: events.slice(cut) };
  }

  it('given the settled instant moved on, then only the deals with an event in between are read again, and answers after it are the scan’s', async () => {
    const { store, scans, memo, early, rest } = givenEarly();
    const settledThen = Date.parse(early.at(-1)!.event.occurredAt) - lateAfterMs - 1;
    await fromKeptScan(store, periodByOwner, memo);
    store.project(analyticsProjection, rest);
    // Its horizon after the settled instant the timelines were read up to: no kept scan is near, the resident timelines are brought up to it.
    const after: AnalyticsOptions = { basis: 'cohort', from: month(3) + 5, groupBy: 'source', asOf: latest - 2 * lateAfterMs };
    expect(after.asOf).toBeGreaterThan(settledThen);
    const { answer, read } = await readsOf(store, () => fromKeptScan(store, after, memo));
    expect(answer).toEqual(computeCycleAnalytics(timelines(store), after));
    const byId = new Map(timelines(store).map((deal) => [deal.dealId, deal]));
    expect(read.length).toBeGreaterThan(0);
    expect(read.filter((id) => !changedIn(byId.get(id)!, settledThen, Infinity))).toEqual([]);
    expect(scans).toHaveBeenCalledTimes(1);
    const another: AnalyticsOptions = { basis: 'period', from: month(1) + 77, to: month(3), groupBy: 'month', asOf: latest };
    expect(await fromKeptScan(store, another, memo)).toEqual(computeCycleAnalytics(timelines(store), another));
    expect(scans).toHaveBeenCalledTimes(1);
  });

  it('given more deals with an event since they were read than it reads again, then every timeline is read again, and kept', async () => {
    const { store, scans, memo, rest } = givenEarly();
    await fromKeptScan(store, periodByOwner, memo, 5);
    store.project(analyticsProjection, rest);
    for (const options of farApart) {
      const after = { ...options, asOf: latest - 2 * lateAfterMs };
      expect(await fromKeptScan(store, after, memo, 5)).toEqual(computeCycleAnalytics(timelines(store), after));
    }
    expect(scans).toHaveBeenCalledTimes(2);
  });
});
