// Growth (`npm run bench -- --growth`): the same scenarios on data sets of 10x fewer and 10x more
// events, and how each figure grows with the size: time per event should stay flat (time linear in the
// events), query latency flat in the number of deals.
import type { Figure } from './harness';

/** What a scenario's figures should do as the data set grows; scenarios whose work does not depend on it have none. */
export type Growth = 'time' | 'latency';

/** One scenario's figures at one data-set size, in the order the scenario reports them. */
export interface SizedFigures {
  readonly events: number;
  readonly figures: readonly Figure[];
}

export interface GrowthRow {
  readonly scenario: string;
  readonly variant: string;
  /** What is compared: the rate (time per event is its inverse) or the p99 latency. */
  readonly measure: string;
  /** The measure at each size, smallest size first. */
  readonly values: ReadonlyArray<number | undefined>;
  /**
   * k in "time (or latency) ∝ size^k" between the smallest and the largest size measured: 1 is
   * linear time, 0 flat latency. Undefined when fewer than two sizes have the figure.
   */
  readonly exponent: number | undefined;
  readonly verdict: string;
}

/** A little over 1 (or 0), so that run-to-run noise does not read as growth. */
const linearTime = 1.05;
const flatLatency = 0.1;

/**
 * Rows comparing one scenario's figures across sizes. Figures are matched by their position in the
 * scenario's report (a scenario reports the same figures at every size; some names carry the size).
 */
export function growthRows(growth: Growth, runs: readonly SizedFigures[]): GrowthRow[] {
  const sized = [...runs].sort((a, b) => a.events - b.events);
  const largest = sized.at(-1);
  if (largest === undefined) return [];
  return largest.figures.map((figure, index) => {
    const values = sized.map(({ figures }) => {
      const at = figures[index];
      const value = growth === 'time' ? at?.median : at?.p99Ms;
      return value === undefined || !Number.isFinite(value) || value <= 0 ? undefined : value;
    });
    const measured = sized.flatMap(({ events }, i) => (values[i] === undefined ? [] : [{ events, value: values[i]! }]));
    const first = measured[0];
    const last = measured.at(-1);
    let exponent: number | undefined;
    if (first && last && last.events > first.events) {
      const sizeRatio = Math.log(last.events / first.events);
      // A rate r over n events takes n / r: time grows as size^(1 + log(r_first / r_last) / log(size ratio)).
      exponent = growth === 'time' ? 1 + Math.log(first.value / last.value) / sizeRatio : Math.log(last.value / first.value) / sizeRatio;
    }
    return {
      scenario: figure.scenario.trim(),
      variant: figure.variant,
      measure: growth === 'time' ? figure.unit : 'p99 ms',
      values,
      exponent,
      verdict: verdictOf(growth, exponent),
    };
  });
}

function verdictOf(growth: Growth, exponent: number | undefined): string {
  if (exponent === undefined) return 'not measured at two sizes';
  const power = `size^${exponent.toFixed(2)}`;
  if (growth === 'time') return exponent <= linearTime ? `linear or better (time ∝ ${power})` : `faster than linear (time ∝ ${power})`;
  return exponent <= flatLatency ? `flat (p99 ∝ ${power})` : `grows (p99 ∝ ${power})`;
}

/** Sizes for --growth: 10x fewer, as given, 10x more; none below the harness's minimum data set. */
export function growthSizes(events: number, minimum: number): number[] {
  return [Math.round(events / 10), events, events * 10].filter((size) => size >= minimum);
}
