import { atLeast, atMost, p99AtMost, peakRssAtMost, verdictOf, verdicts } from './targets';

describe('benchmark targets checked against the figures of a run', () => {
  it('given every bound within its limit, when checked, then the target is met and each value is shown beside its limit', () => {
    const verdict = verdictOf('rebuild all projections', 'embedded', {
      goal: '≥ 30% of the raw read+parse from 1M events, peak ≤ 512 MB',
      bounds: [atLeast('share of raw read', '%', 31.4, 30), peakRssAtMost(431.2, 512)],
    });
    expect(verdict).toEqual({
      scenario: 'rebuild all projections',
      variant: 'embedded',
      goal: '≥ 30% of the raw read+parse from 1M events, peak ≤ 512 MB',
      measured: 'share of raw read 31.4% (≥ 30%) ok; peak RSS 431 MB (≤ 512 MB) ok',
      met: true,
    });
  });

  it('given one bound missed, when checked, then the target is missed and says which', () => {
    const verdict = verdictOf('deal commands over HTTP, 64 clients', 'ours, embedded defaults', {
      goal: '≥ 5x Emmett-PostgreSQL, ≥ 30% of bare node:http, p99 ≤ 25 ms',
      bounds: [atLeast('vs Emmett-PostgreSQL', 'x', 5.06, 5), atLeast('share of bare node:http', '%', 31, 30), p99AtMost(42.8, 25)],
    });
    expect(verdict.met).toBe(false);
    expect(verdict.measured).toBe('vs Emmett-PostgreSQL 5.06x (≥ 5x) ok; share of bare node:http 31% (≥ 30%) ok; p99 42.8 ms (≤ 25 ms) missed');
  });

  it('given a value that misses by less than the rounding, when checked, then it is shown with the digits that tell it from the limit', () => {
    expect(verdictOf('s', 'v', { goal: 'g', bounds: [atLeast('vs Emmett-PostgreSQL', 'x', 4.9996, 5)] }).measured).toBe('vs Emmett-PostgreSQL 4.9996x (≥ 5x) missed');
    expect(verdictOf('s', 'v', { goal: 'g', bounds: [p99AtMost(20.0004, 20)] }).measured).toBe('p99 20.0004 ms (≤ 20 ms) missed');
  });

  it('given a value exactly at its limit, when checked, then the bound holds', () => {
    expect(verdictOf('s', 'v', { goal: 'g', bounds: [atLeast('rate', 'events/s', 100_000, 100_000), atMost('p99', 'ms', 25, 25)] }).met).toBe(true);
  });

  it('given a bound that could not be measured and none missed, when checked, then the verdict is neither met nor missed', () => {
    const verdict = verdictOf('Kafka relay', 'catch-up, whole data set', { goal: '≥ 20k events/s', bounds: [atLeast('rate', 'events/s', NaN, 20_000)] });
    expect(verdict.met).toBeNull();
    expect(verdict.measured).toBe('rate: not measured (≥ 20,000 events/s)');
    const partly = verdictOf('s', 'v', { goal: 'g', bounds: [atLeast('vs Emmett-PostgreSQL', 'x', undefined, 5), p99AtMost(12, 25)] });
    expect(partly.met).toBeNull();
  });

  it('given a bound missed beside one not measured, when checked, then the target is missed', () => {
    expect(verdictOf('s', 'v', { goal: 'g', bounds: [atLeast('vs Emmett-PostgreSQL', 'x', undefined, 5), p99AtMost(40, 25)] }).met).toBe(false);
  });

  it('given figures with and without targets, when checked, then only those with a target get a verdict, in order', () => {
    const figure = (scenario: string, variant: string, p99Ms?: number) => ({
      scenario,
      variant,
      ...(p99Ms === undefined ? {} : { target: { goal: 'p99 ≤ 20 ms on 100k deals', bounds: [p99AtMost(p99Ms, 20)] } }),
    });
    const checked = verdicts([figure('queries on 97,024 deals', 'mix', 3.5), figure('raw SQLite', 'no target'), figure('queries', 'alone', 503)]);
    expect(checked.map(({ scenario, variant, met }) => [scenario, variant, met])).toEqual([
      ['queries on 97,024 deals', 'mix', true],
      ['queries', 'alone', false],
    ]);
  });

  it('given rows indented under a figure, when checked, then each verdict names the row it stands under', () => {
    const target = { goal: 'p99 ≤ 20 ms on 100k deals', bounds: [p99AtMost(5, 20)] };
    const checked = verdicts([
      { scenario: 'queries on 97,024 deals', variant: 'mix', target },
      { scenario: '  pipeline ?owner', variant: 'in the mix', target },
      { scenario: '  cycle-length', variant: '1 client, alone', target },
    ]);
    expect(checked.map(({ scenario }) => scenario)).toEqual([
      'queries on 97,024 deals',
      'queries on 97,024 deals / pipeline ?owner',
      'queries on 97,024 deals / cycle-length',
    ]);
  });
});
