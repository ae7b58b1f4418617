import type { CycleSums, DealShare, DurationStat, Sums } from './cycle-metrics';
import { SortedDurations } from './sorted-durations';

/** A deal's share at the kept horizon and at the asked one: undefined where the deal does not count. */
export interface ShareMove {
  readonly was: DealShare | undefined;
  readonly is: DealShare | undefined;
}

/**
 * Sums kept from a scan, corrected deal by deal: each deal moved has its share `was` taken out and
 * its share `is` put in. Figures of a question whose deals' shares differ from a scanned one's only
 * for a few deals (the same window, its end moved past a few events) are then these sums' figures,
 * exactly: every figure is a sum of shares or an order statistic of the durations they hold
 * (cycle-metrics.ts). The kept sums are not changed; what no share touches is shared.
 *
 * Throws when a share taken out is not in the sums (a duration they do not hold): the sums were not
 * of the shares the caller says, and no figure may come from them.
 */
export function correctedSums(base: CycleSums, moves: readonly ShareMove[]): CycleSums {
  const overall = new Correction();
  const groups = new Map<string, Correction>();
  const groupMove = (group: string | undefined, was: DealShare | undefined, is: DealShare | undefined) => {
    if (group === undefined) return;
    let correction = groups.get(group);
    if (correction === undefined) groups.set(group, (correction = new Correction()));
    correction.move(was, is);
  };
  for (const { was, is } of moves) {
    overall.move(was, is);
    if (was?.group === is?.group) groupMove(was?.group ?? is?.group, was, is);
    else {
      groupMove(was?.group, was, undefined);
      groupMove(is?.group, undefined, is);
    }
  }
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
const noShare: DealShare = { group: undefined, fields: [], durations: [] };

/** What the moves changed in one set of sums: each field by how much, each duration's values out and in. */
class Correction {
  private readonly fields = new Map<string, number>();
  private readonly durations = new Map<DurationStat, { readonly out: number[]; readonly into: number[] }>();

  /**
   * Takes one share out and puts the other in, but for what the two hold alike in the same place:
   * `contribute` hands out a deal's share in one order, so a deal that moved past one event keeps
   * most of it in place (its capture, the stints it had left), and a duration taken out and put
   * back would cost the sorted values two moves for nothing.
   */
  move(was = noShare, is = noShare): void {
    for (let index = 0; index < Math.max(was.fields.length, is.fields.length); index++) {
      const taken = was.fields[index];
      const added = is.fields[index];
      if (taken !== undefined && added !== undefined && taken[0] === added[0] && taken[1] === added[1]) continue;
      if (taken !== undefined) this.fields.set(taken[0], (this.fields.get(taken[0]) ?? 0) - taken[1]);
      if (added !== undefined) this.fields.set(added[0], (this.fields.get(added[0]) ?? 0) + added[1]);
    }
    for (let index = 0; index < Math.max(was.durations.length, is.durations.length); index++) {
      const taken = was.durations[index];
      const added = is.durations[index];
      if (taken !== undefined && added !== undefined && taken[0] === added[0] && taken[1] === added[1]) continue;
      if (taken !== undefined) this.moved(taken[0]).out.push(taken[1]);
      if (added !== undefined) this.moved(added[0]).into.push(added[1]);
    }
  }

  private moved(stat: DurationStat): { readonly out: number[]; readonly into: number[] } {
    let moved = this.durations.get(stat);
    if (moved === undefined) this.durations.set(stat, (moved = { out: [], into: [] }));
    return moved;
  }

  of(sums: Sums): Sums {
    const fields = new Map(sums.fields);
    for (const [field, by] of this.fields) if (by !== 0) fields.set(field, (fields.get(field) ?? 0) + by);
    const durations = new Map(sums.durations);
    for (const [stat, { out, into }] of this.durations) {
      const corrected = (sums.durations.get(stat) ?? SortedDurations.none).moved(out, into);
      if (corrected.count > 0) durations.set(stat, corrected);
      else durations.delete(stat);
    }
    return { fields, durations };
  }
}
