// The targets of issue #5 (docs/performance.md), checked against the figures of the same run. A
// scenario states on each figure it reports what that figure must reach, each bound a floor or a
// ceiling on the figure or on its ratio to a baseline or limit measured beside it; the harness prints
// the verdicts under the table and writes them to the JSON, so a run says which targets it met.

export interface Bound {
  /** What is bounded: "rate", "p99", "vs Emmett-PostgreSQL". */
  readonly name: string;
  /** Written after the value: "events/s", "ms", "MB", "x" or "%" (the last two without a space). */
  readonly unit: string;
  /** Undefined (or NaN) when it could not be measured in this run. */
  readonly value: number | undefined;
  readonly atLeast?: number;
  readonly atMost?: number;
}

export interface Target {
  /** The target as the issue states it. */
  readonly goal: string;
  readonly bounds: readonly Bound[];
}

export interface Verdict {
  readonly scenario: string;
  readonly variant: string;
  readonly goal: string;
  /** Each bound: its value and limit. */
  readonly measured: string;
  /** Every bound held (true), one failed (false), or none failed but one could not be measured (null, so that the JSON keeps it). */
  readonly met: boolean | null;
}

export const atLeast = (name: string, unit: string, value: number | undefined, limit: number): Bound => ({ name, unit, value, atLeast: limit });
export const atMost = (name: string, unit: string, value: number | undefined, limit: number): Bound => ({ name, unit, value, atMost: limit });

/** The p99 ceiling that the command and query targets set. */
export const p99AtMost = (p99Ms: number | undefined, limitMs: number): Bound => atMost('p99', 'ms', p99Ms, limitMs);
export const peakRssAtMost = (peakRssMb: number | undefined, limitMb: number): Bound => atMost('peak RSS', 'MB', peakRssMb, limitMb);

const measuredHere = (bound: Bound): bound is Bound & { readonly value: number } => bound.value !== undefined && Number.isFinite(bound.value);

function holds(bound: Bound & { readonly value: number }): boolean {
  return (bound.atLeast === undefined || bound.value >= bound.atLeast) && (bound.atMost === undefined || bound.value <= bound.atMost);
}

/** A number as the table shows it: whole above 100, else three significant digits at most. */
function amount(value: number): string {
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : Number(value.toPrecision(3)).toLocaleString('en-US');
}

const joinUnit = (text: string, unit: string): string => (unit === 'x' || unit === '%' ? `${text}${unit}` : `${text} ${unit}`);
const withUnit = (value: number, unit: string): string => joinUnit(amount(value), unit);

function describe(bound: Bound): string {
  const edge = bound.atLeast ?? bound.atMost!;
  const limit = `${bound.atLeast !== undefined ? '≥' : '≤'} ${withUnit(edge, bound.unit)}`;
  if (!measuredHere(bound)) return `${bound.name}: not measured (${limit})`;
  const ok = holds(bound);
  let shown = withUnit(bound.value, bound.unit);
  // A value that misses by less than the rounding shows enough digits not to read as the limit itself.
  if (!ok && shown === withUnit(edge, bound.unit)) shown = joinUnit(String(Number(bound.value.toPrecision(9))), bound.unit);
  return `${bound.name} ${shown} (${limit}) ${ok ? 'ok' : 'missed'}`;
}

export function verdictOf(scenario: string, variant: string, target: Target): Verdict {
  const measured = target.bounds.filter(measuredHere);
  const met = measured.some((bound) => !holds(bound)) ? false : measured.length === target.bounds.length ? true : null;
  return { scenario, variant, goal: target.goal, measured: target.bounds.map(describe).join('; '), met };
}

/**
 * The verdicts of every figure that carries a target, in the order of the figures. A figure whose
 * scenario is indented is a row under the one before (a query of the mix): its verdict names both.
 */
export function verdicts(figures: ReadonlyArray<{ readonly scenario: string; readonly variant: string; readonly target?: Target }>): Verdict[] {
  let parent = '';
  return figures.flatMap((figure) => {
    const under = figure.scenario.startsWith(' ');
    if (!under) parent = figure.scenario;
    const scenario = under ? `${parent} / ${figure.scenario.trim()}` : figure.scenario;
    return figure.target ? [verdictOf(scenario, figure.variant, figure.target)] : [];
  });
}

export function metWord(met: boolean | null): string {
  return met === null ? 'not measured' : met ? 'yes' : 'no';
}
