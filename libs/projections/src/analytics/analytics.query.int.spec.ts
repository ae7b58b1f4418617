import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedReadModelStore, type ReadModelStore, RedisReadModelStore } from '@deals/read-models';
import { describeForStore, readModelStoreKinds, testRedisUrl } from '@deals/read-models/testing';
import { commitProjection } from '../pipeline/testing/commit-projection';
import { InMemoryReadModelStore } from '../pipeline/testing/in-memory-read-model';
import { analyticsDealCollection, analyticsProjection } from './analytics.projection';
import { AnalyticsMemo } from './analytics-memo';
import { fromAggregates, fromKeptScan, queryCycleLength } from './analytics.query';
import { type AnalyticsOptions, computeCycleAnalytics, dayMs } from './cycle-metrics';
import type { DealTimeline } from './deal-timeline';
import { cycleFixtureEvents, cycleFixtureTimelines, day } from './testing/cycle-fixture';
import { randomDeals, randomDealsStart } from './testing/random-deals';

let directory: string;
let store: ReadModelStore;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'analytics-int-'));
  store = EmbeddedReadModelStore.open(join(directory, 'read-models.sqlite'));
  await commitProjection(store, analyticsProjection, cycleFixtureEvents(), 4);
});

afterAll(async () => {
  await store.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('cycle-length query on the embedded read-model store', () => {
  it('stores the hand-written timelines', async () => {
    const stored = new Map<string, unknown>();
    for await (const { id, document } of store.scan('analytics:deal', { pageSize: 2 })) stored.set(id, document);
    expect(stored).toEqual(new Map(cycleFixtureTimelines.map((timeline) => [timeline.dealId, timeline])));
  });

  it.each([
    { basis: 'cohort' as const, asOf: day(60) },
    { basis: 'cohort' as const, asOf: day(14), groupBy: 'owner' as const },
    { basis: 'period' as const, from: day(10), to: day(21), asOf: day(60), groupBy: 'month' as const },
  ])('answers what the metrics give for the same timelines: %o', async (options) => {
    const view = await queryCycleLength(
      store,
      {
        basis: options.basis,
        groupBy: options.groupBy,
        from: options.from === undefined ? undefined : new Date(options.from),
        to: options.to === undefined ? undefined : new Date(options.to),
        asOf: new Date(options.asOf),
      },
      new Date(day(90)),
    );
    expect(view).toEqual(expect.objectContaining(computeCycleAnalytics(cycleFixtureTimelines, options)));
  });

  it('hand-computed headline figures, cohort as of day 60', async () => {
    const view = await queryCycleLength(store, { basis: 'cohort', asOf: new Date(day(60)) }, new Date(day(90)));
    expect({ won: view.won, lost: view.lost, open: view.open, winRate: view.winRate, cycleLength: view.cycleLength }).toEqual({
      won: 3,
      lost: 2,
      open: 2,
      winRate: { byCount: 0.6, byValue: { EUR: 0.68, USD: 0.7143 } },
      cycleLength: { count: 3, meanDays: 14.67, medianDays: 13, p90Days: 18.6 },
    });
  });
});

for (const kind of readModelStoreKinds) describeForStore(kind)(`cycle-length pre-aggregates on the ${kind} read-model store`, () => {
  const events = randomDeals(300, 19);
  const reference = new InMemoryReadModelStore();
  reference.project(analyticsProjection, events);
  const timelines = [...(reference.documents.get(analyticsDealCollection)?.values() ?? [])] as unknown as DealTimeline[];
  const end = randomDealsStart + 240 * dayMs;
  let directory: string;
  let target: ReadModelStore;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'analytics-aggregates-int-'));
    target =
      kind === 'embedded'
        ? EmbeddedReadModelStore.open(join(directory, 'read-models.sqlite'))
        : await RedisReadModelStore.connect(testRedisUrl, { keyPrefix: `test:${randomUUID()}:` });
    // Small batches, so that a deal's shares move across many commits.
    await commitProjection(target, analyticsProjection, events, 37);
  });

  afterAll(async () => {
    await target.reset('analytics');
    await target.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it.each<[string, Omit<AnalyticsOptions, 'basis'>]>([
    ['now', { asOf: end }],
    ['now, by owner', { asOf: end, groupBy: 'owner' }],
    ['a month back, by source', { asOf: end - 60 * dayMs, groupBy: 'source' }],
    ['a quarter of capture months, by month', { asOf: end, from: Date.UTC(2025, 1, 1), to: Date.UTC(2025, 4, 1), groupBy: 'month' }],
  ])('answer what a scan of every timeline answers: %s', async (_, question) => {
    const options: AnalyticsOptions = { basis: 'cohort', ...question };
    expect(await fromAggregates(target, options)).toEqual(computeCycleAnalytics(timelines, options));
  });

  it.each<[string, Omit<AnalyticsOptions, 'basis'> & Partial<Pick<AnalyticsOptions, 'basis'>>]>([
    ['four months in (the change months)', { asOf: randomDealsStart + 120 * dayMs + 12_345 }],
    ['late in a month (the change months, from its end)', { asOf: Date.UTC(2025, 4, 28, 13) }],
    ['early in a month (the change months, from its start)', { asOf: Date.UTC(2025, 3, 2, 7) }],
    ['four months in, by month (the capture months)', { asOf: randomDealsStart + 120 * dayMs, groupBy: 'month' }],
    ['a quarter of capture months, as of its second month', { asOf: Date.UTC(2025, 2, 10), from: Date.UTC(2025, 1, 1), to: Date.UTC(2025, 4, 1) }],
    ['period: a quarter long past (the period pairs, at a month’s end)', { basis: 'period', asOf: end, from: Date.UTC(2025, 1, 1), to: Date.UTC(2025, 4, 1) }],
    ['period: to late in a month (the period pairs, from its end)', { basis: 'period', asOf: end, from: Date.UTC(2025, 1, 1), to: Date.UTC(2025, 4, 28, 13) }],
    ['period: to early in a month (the period pairs, from its start)', { basis: 'period', asOf: end, from: Date.UTC(2025, 2, 1), to: Date.UTC(2025, 3, 2, 7) }],
  ])('answer a question about an instant long past from the months up to it, as a scan does: %s', async (_, question) => {
    const options: AnalyticsOptions = { basis: 'cohort', ...question };
    // With no deal corrected across every month, only the months' own scopes and indexes can answer it.
    expect(await fromAggregates(target, options, { maxCorrected: 0 })).toEqual(computeCycleAnalytics(timelines, options));
  });

  it('answer a question only a scan answers from the scan kept for it, its end moved across a few events, as a scan does', async () => {
    // The kept scans alone: resident timelines would answer without a scan what they do not.
    const memo = new AnalyticsMemo({ residentCapacity: 0 });
    const period = (asOf: number): AnalyticsOptions => ({ basis: 'period', from: Date.UTC(2025, 1, 3, 5), groupBy: 'owner', asOf });
    const scans = jest.spyOn(target, 'scan');
    for (const asOf of [Date.UTC(2025, 3, 12), Date.UTC(2025, 3, 19, 7), Date.UTC(2025, 3, 1), Date.UTC(2025, 4, 1) - 1, Date.UTC(2025, 5, 15)]) {
      expect(await fromKeptScan(target, period(asOf), memo)).toEqual(computeCycleAnalytics(timelines, period(asOf)));
    }
    expect(scans).toHaveBeenCalledTimes(1);
    scans.mockRestore();
  });

  it('answer a question only a scan answers from the scan kept for its kind, its start and end moved, as a scan does', async () => {
    // The kept scans alone: resident timelines would answer without a scan what they do not.
    const memo = new AnalyticsMemo({ residentCapacity: 0 });
    const cohort = (from: number, to: number): AnalyticsOptions => ({ basis: 'cohort', from, to, groupBy: 'source', asOf: Date.UTC(2025, 5, 1) });
    const scans = jest.spyOn(target, 'scan');
    for (const [from, to] of [
      [Date.UTC(2025, 1, 3, 5), Date.UTC(2025, 3, 12)],
      [Date.UTC(2025, 1, 3, 5) + 1, Date.UTC(2025, 3, 12)],
      [Date.UTC(2025, 1, 9), Date.UTC(2025, 3, 2, 7)],
      [Date.UTC(2025, 0, 28, 13), Date.UTC(2025, 3, 20)],
    ]) {
      expect(await fromKeptScan(target, cohort(from!, to!), memo)).toEqual(computeCycleAnalytics(timelines, cohort(from!, to!)));
    }
    expect(scans).toHaveBeenCalledTimes(1);
    scans.mockRestore();
  });

  it('answer questions only a scan answers, of other kinds and far apart, from the timelines one scan left resident, as a scan does', async () => {
    const memo = new AnalyticsMemo();
    const scans = jest.spyOn(target, 'scan');
    for (const options of [
      { basis: 'period', from: Date.UTC(2025, 1, 3, 5), to: Date.UTC(2025, 2, 1), groupBy: 'owner', asOf: end },
      { basis: 'cohort', from: Date.UTC(2025, 0, 9), to: Date.UTC(2025, 1, 20), groupBy: 'source', asOf: Date.UTC(2025, 5, 1) },
      { basis: 'period', from: Date.UTC(2025, 4, 17), groupBy: 'month', asOf: Date.UTC(2025, 6, 2) },
      { basis: 'cohort', from: Date.UTC(2025, 3, 30, 7), groupBy: 'owner', asOf: end },
    ] satisfies AnalyticsOptions[]) {
      expect(await fromKeptScan(target, options, memo)).toEqual(computeCycleAnalytics(timelines, options));
    }
    expect(scans).toHaveBeenCalledTimes(1);
    scans.mockRestore();
  });
});
