import { InMemoryReadModelStore } from '../pipeline/testing/in-memory-read-model';
import { analyticsProjection } from './analytics.projection';
import { queryCycleLength } from './analytics.query';
import { computeCycleAnalytics } from './cycle-metrics';
import { cycleFixtureEvents, cycleFixtureTimelines, day } from './testing/cycle-fixture';

function storeWithFixture(): InMemoryReadModelStore {
  const store = new InMemoryReadModelStore();
  store.project(analyticsProjection, cycleFixtureEvents());
  return store;
}

describe('cycle-length query', () => {
  it('answers from the stored timelines what the metrics give for the same timelines, and echoes the question', async () => {
    const view = await queryCycleLength(storeWithFixture(), { basis: 'period', groupBy: 'owner', from: new Date(day(10)), to: new Date(day(21)) }, new Date(day(60)));
    const expected = computeCycleAnalytics(cycleFixtureTimelines, { basis: 'period', groupBy: 'owner', from: day(10), to: day(21), asOf: day(60) });
    expect(view).toEqual({
      basis: 'period',
      groupBy: 'owner',
      from: '2025-01-11T00:00:00.000Z',
      to: '2025-01-22T00:00:00.000Z',
      asOf: '2025-03-02T00:00:00.000Z',
      ...expected,
    });
  });

  it('asOf defaults to now; without a window or grouping every deal counts', async () => {
    const view = await queryCycleLength(storeWithFixture(), { basis: 'cohort' }, new Date(day(14)));
    expect(view).toEqual(expect.objectContaining({ asOf: new Date(day(14)).toISOString(), from: null, to: null, groupBy: null, won: 1, lost: 1, open: 2, groups: [] }));
  });

  it('an empty read model answers zeros and nulls, not errors', async () => {
    const view = await queryCycleLength(new InMemoryReadModelStore(), { basis: 'cohort' }, new Date(day(14)));
    expect(view).toEqual(
      expect.objectContaining({
        won: 0,
        lost: 0,
        open: 0,
        winRate: { byCount: null, byValue: {} },
        cycleLength: { count: 0, meanDays: null, medianDays: null, p90Days: null },
        velocity: {},
      }),
    );
    expect(view.stages.map((stage) => stage.conversion)).toEqual([
      { next: 'qualified', nextStep: null, cumulative: null },
      { next: 'proposal', nextStep: null, cumulative: null },
      { next: 'negotiation', nextStep: null, cumulative: null },
      { next: 'won', nextStep: null, cumulative: null },
      { next: null, nextStep: null, cumulative: null },
    ]);
  });
});
