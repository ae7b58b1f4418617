import type { CycleSums, DealShare, DurationStat, SortedDurations, Sums } from './cycle-metrics';

/**
 * Sums kept from a scan, corrected deal by deal: each deal in `out` has its share taken out, each
 * in `into` its share put in. Figures of a question whose deals' shares differ from a scanned one's
 * only for a few deals (the same window, its end moved past a few events) are then these sums'
 * figures, exactly: every figure is a sum of shares or an order statistic of the durations they
 * hold (cycle-metrics.ts). The kept sums are not changed; what no share touches is shared.
 *
 * Throws when a share taken out is not in the sums (a duration they do not hold): the sums were not
 * of the shares the caller says, and no figure may come from them.
 */
export function correctedSums(base: CycleSums, out: readonly DealShare[], into: readonly DealShare[]): CycleSums {
  const overall = new Correction();
  const groups = new Map<string, Correction>();
  const apply = (share: DealShare, sign: 1 | -1) => {
    overall.apply(share, sign);
    if (share.group === undefined) return;
    let group = groups.get(share.group);
    if (group === undefined) groups.set(share.group, (group = new Correction()));
    group.apply(share, sign);
  };
  for (const share of out) apply(share, -1);
  for (const share of into) apply(share, 1);
  const correctedGroups = new Map(base.groups);
  for (const [key, correction] of groups) {
    const sums = correction.of(base.groups.get(key) ?? noSums);
    // A group is there while it counts a deal, as in a scan.
    if ((sums.fields.get('deals') ?? 0) > 0) correctedGroups.set(key, sums);
    else correctedGroups.delete(key);
  }
  return { overall: overall.of(base.overall), groups: correctedGroups };
}

const noSums: Sums = { fields: new Map(), durations: new Map() };

/** What the shares moved in one set of sums: each field by how much, each duration's values out and in. */
class Correction {
  private readonly fields = new Map<string, number>();
  private readonly durations = new Map<DurationStat, { readonly out: number[]; readonly into: number[] }>();

  apply(share: DealShare, sign: 1 | -1): void {
    for (const [field, by] of share.fields) this.fields.set(field, (this.fields.get(field) ?? 0) + sign * by);
    for (const [stat, ms] of share.durations) {
      let moved = this.durations.get(stat);
      if (moved === undefined) this.durations.set(stat, (moved = { out: [], into: [] }));
      (sign < 0 ? moved.out : moved.into).push(ms);
    }
  }

  of(sums: Sums): Sums {
    const fields = new Map(sums.fields);
    for (const [field, by] of this.fields) if (by !== 0) fields.set(field, (fields.get(field) ?? 0) + by);
    const durations = new Map(sums.durations);
    for (const [stat, { out, into }] of this.durations) {
      const corrected = mergedDurations(sums.durations.get(stat), out, into);
      if (corrected.sorted.length > 0) durations.set(stat, corrected);
      else durations.delete(stat);
    }
    return { fields, durations };
  }
}

/**
 * The sorted values without one of each of `out`, with `into`: the runs between the values taken out
 * and put in are copied whole (a few dozen moves in a hundred thousand values).
 */
function mergedDurations(kept: SortedDurations | undefined, out: number[], into: number[]): SortedDurations {
  const values = kept?.sorted ?? new Float64Array(0);
  const removed = Float64Array.from(out).sort();
  const added = Float64Array.from(into).sort();
  const sorted = new Float64Array(values.length - removed.length + added.length);
  let [at, next, skip, add] = [0, 0, 0, 0];
  const copyUpTo = (end: number) => {
    sorted.set(values.subarray(next, end), at);
    at += end - next;
    next = end;
  };
  while (skip < removed.length || add < added.length) {
    if (add === added.length || (skip < removed.length && removed[skip]! <= added[add]!)) {
      const value = removed[skip++]!;
      copyUpTo(firstPast(values, value, next, true));
      if (values[next] !== value) throw new Error('The kept sums do not hold a duration the correction takes out');
      next++;
    } else {
      const value = added[add++]!;
      copyUpTo(firstPast(values, value, next, false));
      sorted[at++] = value;
    }
  }
  copyUpTo(values.length);
  let sumMs = kept?.sumMs ?? 0;
  for (const ms of removed) sumMs -= ms;
  for (const ms of added) sumMs += ms;
  return { sorted, sumMs };
}

/**
 * The first index from `from` on whose value is past `value` (values.length if none): at or above
 * it where a value equal to it is to be taken out, above it where one is to be put in after its equals.
 */
function firstPast(values: Float64Array, value: number, from: number, equalIsPast: boolean): number {
  let [low, high] = [from, values.length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    const at = values[middle]!;
    if (at < value || (at === value && !equalIsPast)) low = middle + 1;
    else high = middle;
  }
  return low;
}
