/**
 * A duration statistic's values in ascending order, with their exact sum: all its figures come from
 * these (the count, the mean, and the values at the ranks of the median and p90).
 *
 * A scan's values are one sorted array. A correction (scan-sums.ts) leaves that array as it is and
 * keeps the values it took out and put in beside it, each sorted: moving a few thousand of a hundred
 * thousand values then costs no copy of the hundred thousand. A copy of a megabyte per question
 * stepped through a month, dropped at the next, made the collector stop the process every few dozen
 * questions. The values at a rank are found by binary search, and the moved values are folded into a
 * new sorted array only once they pass an eighth of it.
 */
export class SortedDurations {
  private constructor(
    private readonly base: Float64Array,
    /** Each one of base's values, taken out (as many of one value as base holds at most). */
    private readonly removed: readonly number[],
    private readonly added: readonly number[],
    readonly sumMs: number,
  ) {}

  static of(durationsMs: readonly number[]): SortedDurations {
    // A typed array sorts numerically in native code: several times faster than a comparator over a
    // scan's hundred thousand values.
    const sorted = Float64Array.from(durationsMs).sort();
    return new SortedDurations(sorted, [], [], sorted.reduce((sum, value) => sum + value, 0));
  }

  static readonly none = SortedDurations.of([]);

  get count(): number {
    return this.base.length - this.removed.length + this.added.length;
  }

  /** The values held in memory: the sorted array (shared with the sums it was corrected from), and those moved. */
  get held(): number {
    return this.base.length + this.removed.length + this.added.length;
  }

  /** The value at a rank, 0 the shortest. */
  at(rank: number): number {
    if (this.removed.length === 0 && this.added.length === 0) return this.base[rank]!;
    // The smallest value with more than `rank` values at or below it lies in base or among those
    // added; the smallest such of each side is found alone, and the lower of the two is it. In base it
    // lies from `rank − added` on (a value before that, if it held, is the one there too: ties) and by
    // `rank + removed` (that one holds), so only those are searched; among those added, by `rank`.
    const low = Math.max(0, rank - this.added.length);
    const high = Math.min(this.base.length, rank + this.removed.length + 1);
    const inBase = low + firstWhere(high - low, (offset) => this.countUpTo(this.base[low + offset]!, low + offset) > rank);
    const inAdded = firstWhere(Math.min(this.added.length, rank + 1), (index) => this.countUpTo(this.added[index]!, 0) > rank);
    return Math.min(this.base[inBase] ?? Infinity, this.added[inAdded] ?? Infinity);
  }

  /** How many values are at or below `value`; base holds none above it before `from`. */
  private countUpTo(value: number, from: number): number {
    return firstAbove(this.base, value, from) - firstAbove(this.removed, value) + firstAbove(this.added, value);
  }

  /**
   * These values without one of each of `out`, with `into`. Throws when one of `out` is not among
   * them: the sums were not of the shares the caller says, and no figure may come from them.
   */
  moved(out: readonly number[], into: readonly number[]): SortedDurations {
    const [outSorted, intoSorted] = [[...out].sort(ascending), [...into].sort(ascending)];
    // A value taken out is one put in before, while any is left, else one of base's.
    const { common: outOfAdded, rest: outOfBase } = meet(outSorted, this.added);
    const removed = merged(this.removed, outOfBase);
    for (const value of outOfBase) {
      if (countOf(removed, value) > countOf(this.base, value)) throw new Error('The kept sums do not hold a duration the correction takes out');
    }
    // A value put in where one was taken out from base cancels that.
    const { common: cancelled, rest: intoAdded } = meet(intoSorted, removed);
    const [finalRemoved, finalAdded] = [without(removed, cancelled), merged(without(this.added, outOfAdded), intoAdded)];
    let sumMs = this.sumMs;
    for (const ms of outSorted) sumMs -= ms;
    for (const ms of intoSorted) sumMs += ms;
    const moved = new SortedDurations(this.base, finalRemoved, finalAdded, sumMs);
    return finalRemoved.length + finalAdded.length > Math.max(maxMovedBeside, this.base.length / 8) ? moved.folded() : moved;
  }

  /** One sorted array of the same values. */
  private folded(): SortedDurations {
    const sorted = new Float64Array(this.count);
    let [at, skip, add] = [0, 0, 0];
    for (let index = 0; index < this.base.length; index++) {
      const value = this.base[index]!;
      while (add < this.added.length && this.added[add]! < value) sorted[at++] = this.added[add++]!;
      if (skip < this.removed.length && this.removed[skip] === value) skip++;
      else sorted[at++] = value;
    }
    while (add < this.added.length) sorted[at++] = this.added[add++]!;
    return new SortedDurations(sorted, [], [], this.sumMs);
  }
}

/** Moved values kept beside a sorted array of any size before they are folded into it. */
const maxMovedBeside = 1_024;

const ascending = (a: number, b: number): number => a - b;

/** The first index from 0 to `length` at which `holds` (false then true) is true; `length` if none. */
export function firstWhere(length: number, holds: (index: number) => boolean): number {
  let [low, high] = [0, length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (holds(middle)) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * How many of the sorted values are at or below `value`, none of them above it before `from`: found
 * by steps doubling from there, so a value of base's own costs a step or two, not a search of all.
 */
function firstAbove(values: ArrayLike<number>, value: number, from = 0): number {
  let [low, step] = [from, 1];
  while (low + step <= values.length && values[low + step - 1]! <= value) {
    low += step;
    step *= 2;
  }
  let high = Math.min(values.length, low + step);
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (values[middle]! > value) high = middle;
    else low = middle + 1;
  }
  return low;
}

function countOf(values: ArrayLike<number>, value: number): number {
  return firstAbove(values, value) - firstWhere(values.length, (index) => values[index]! >= value);
}

/** Of sorted `values`, those matched one for one in sorted `among`, and the rest. */
function meet(values: readonly number[], among: readonly number[]): { readonly common: number[]; readonly rest: number[] } {
  const [common, rest]: [number[], number[]] = [[], []];
  let at = 0;
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    while (at < among.length && among[at]! < value) at++;
    if (at < among.length && among[at] === value) {
      common.push(value);
      at++;
    } else rest.push(value);
  }
  return { common, rest };
}

/** Sorted `values` and sorted `more`, in one sorted array. */
function merged(values: readonly number[], more: readonly number[]): number[] {
  if (more.length === 0) return values as number[];
  const all: number[] = [];
  let at = 0;
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    while (at < more.length && more[at]! < value) all.push(more[at++]!);
    all.push(value);
  }
  while (at < more.length) all.push(more[at++]!);
  return all;
}

/** Sorted `values` without one of each of sorted `less`, all of which they hold. */
function without(values: readonly number[], less: readonly number[]): number[] {
  if (less.length === 0) return values as number[];
  const rest: number[] = [];
  let at = 0;
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    if (at < less.length && less[at] === value) at++;
    else rest.push(value);
  }
  return rest;
}
