import { computeCycleAnalytics, type CycleLengthView, type DealTimeline } from '@deals/projections';
import { parseCsv, unguard } from '../../../api/src/audit/testing/parse-csv';
import { analyticsColumns, analyticsCsv } from './analytics-csv';

const day = 86_400_000;

function timeline(dealId: string, owner: string, currency: string, outcome: 'won' | 'lost' | null): DealTimeline {
  return {
    dealId,
    owner,
    source: 'web',
    capturedAt: 0,
    stints: [{ stage: 'lead', enteredAt: 0, leftAt: outcome === null ? null : 10 * day }],
    outcome,
    closedAt: outcome === null ? null : 10 * day,
    values: [{ at: 0, amount: 1000, currency }],
    revision: 1,
  };
}

function view(timelines: DealTimeline[]): CycleLengthView {
  const options = { basis: 'cohort', asOf: 100 * day, groupBy: 'owner' } as const;
  return { basis: 'cohort', groupBy: 'owner', from: null, to: null, asOf: new Date(100 * day).toISOString(), ...computeCycleAnalytics(timelines, options) };
}

describe('analyticsCsv', () => {
  it('puts the all row first, then the groups, with a win rate by value and a velocity per currency', () => {
    const analytics = view([timeline('a', 'ann', 'EUR', 'won'), timeline('b', 'bob', 'USD', 'lost'), timeline('c', 'bob', 'USD', null)]);
    const [header, ...rows] = parseCsv(analyticsCsv(analytics));
    expect(header).toEqual(analyticsColumns(analytics));
    expect(header!.slice(-4)).toEqual(['winRateByValue.EUR', 'winRateByValue.USD', 'velocityPerDay.EUR', 'velocityPerDay.USD']);
    const table = rows.map((row) => Object.fromEntries(header!.map((column, index) => [column, row[index]])));
    expect(table.map((row) => [row['group'], row['won'], row['lost'], row['open']])).toEqual([
      ['all', '1', '1', '1'],
      ['ann', '1', '0', '0'],
      ['bob', '0', '1', '1'],
    ]);
    expect(table[1]).toMatchObject({ 'cycleLength.meanDays': '10', 'winRateByValue.EUR': '1', 'winRateByValue.USD': '' });
  });

  it('writes no figure as an empty cell, never as "null"', () => {
    const csv = analyticsCsv(view([timeline('c', 'bob', 'EUR', null)]));
    expect(csv).not.toContain('null');
    const [, all] = parseCsv(csv);
    expect(all![analyticsColumns(view([])).indexOf('winRate')]).toBe('');
  });

  it('guards a group name a spreadsheet would run as a formula, reversibly, as the audit export does', () => {
    const [, , group] = parseCsv(analyticsCsv(view([timeline('x', '=HYPERLINK("http://evil.example")', 'EUR', 'won')])));
    expect(group![0]).toBe(`'=HYPERLINK("http://evil.example")`);
    expect(unguard(group![0]!)).toBe('=HYPERLINK("http://evil.example")');
  });
});
