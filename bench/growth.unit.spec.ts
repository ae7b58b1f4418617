import { growthRows, growthSizes } from './growth';
import type { Figure } from './harness';

const rate = (scenario: string, median: number): Figure => ({ scenario, variant: 'embedded', unit: 'events/s', median, min: median, max: median });
const latency = (scenario: string, p99Ms: number): Figure => ({ scenario, variant: 'mix', unit: 'requests/s', median: 100, min: 100, max: 100, p99Ms });

describe('growth of benchmark figures with the data set', () => {
  it('given the same rate at every size, when compared, then time grows linearly', () => {
    const [row] = growthRows('time', [
      { events: 100_000, figures: [rate('rebuild', 20_000)] },
      { events: 10_000, figures: [rate('rebuild', 20_000)] },
      { events: 1_000_000, figures: [rate('rebuild', 20_000)] },
    ]);
    expect(row).toMatchObject({ scenario: 'rebuild', measure: 'events/s', values: [20_000, 20_000, 20_000] });
    expect(row!.exponent).toBeCloseTo(1, 10);
    expect(row!.verdict).toBe('linear or better (time ∝ size^1.00)');
  });

  it('given a rate that halves from 100k to 1M events, when compared, then time grows faster than linearly', () => {
    const [row] = growthRows('time', [
      { events: 100_000, figures: [rate('rebuild', 24_000)] },
      { events: 1_000_000, figures: [rate('rebuild', 12_000)] },
    ]);
    // 10x the events in 20x the time: size^(1 + log10(2)).
    expect(row!.exponent).toBeCloseTo(1 + Math.log10(2), 10);
    expect(row!.verdict).toBe('faster than linear (time ∝ size^1.30)');
  });

  it('given query latencies, when compared, then flat means p99 barely moves with the deals', () => {
    const rows = growthRows('latency', [
      { events: 10_000, figures: [latency('queries on 2,048 deals', 4), latency('  groupBy', 20)] },
      { events: 1_000_000, figures: [latency('queries on 193,536 deals', 4.4), latency('  groupBy', 200)] },
    ]);
    expect(rows.map((row) => [row.scenario, row.measure, row.values])).toEqual([
      ['queries on 193,536 deals', 'p99 ms', [4, 4.4]],
      ['groupBy', 'p99 ms', [20, 200]],
    ]);
    expect(rows[0]!.verdict).toBe('flat (p99 ∝ size^0.02)');
    expect(rows[1]!.verdict).toBe('grows (p99 ∝ size^0.50)');
  });

  it('given a figure missing or not run at a size, when compared, then only the sizes measured count', () => {
    const notRun: Figure = { ...rate('relay', NaN), note: 'not run: no broker' };
    const rows = growthRows('time', [
      { events: 10_000, figures: [notRun] },
      { events: 100_000, figures: [rate('relay', 20_000)] },
      { events: 1_000_000, figures: [] },
    ]);
    expect(rows).toEqual([]);
    const partly = growthRows('time', [
      { events: 10_000, figures: [notRun] },
      { events: 100_000, figures: [rate('relay', 20_000)] },
    ]);
    expect(partly[0]).toMatchObject({ values: [undefined, 20_000], exponent: undefined, verdict: 'not measured at two sizes' });
  });

  it('sizes are 10x fewer, as given and 10x more, none below the smallest data set', () => {
    expect(growthSizes(100_000, 1_000)).toEqual([10_000, 100_000, 1_000_000]);
    expect(growthSizes(5_000, 1_000)).toEqual([5_000, 50_000]);
  });
});
