import { RecentMap } from '@deals/platform';
import type { CycleMetrics } from './cycle-metrics';

/**
 * The figures of a scope (or of a union of scopes, such as the months of a quarter) remembered under
 * the revision of each scope they were computed at, so that a dashboard asking the same `groupBy`
 * again and again (30+ ms of reads for 24 owners) reads again only the groups that changed since.
 *
 * Exact by construction: a scope's revision counts the changes made to it in its read model's
 * generation (analytics-aggregates.ts), and the projection is a fold over the events, so a generation
 * and a revision name one state of the scope, even across a reset and rebuild. Only figures with
 * nothing to correct are remembered (no deal changed after asOf): those do not depend on asOf.
 * Figures are kept only if the revisions read after computing them are the ones read before, so a
 * commit landing in between cannot leave mixed figures behind. One entry per scope set (its newest
 * revision), the least recently asked dropped beyond `capacity`. Askers of the same scopes at the
 * same revision share one computation. `null` stands for a group with no deals.
 */
export class AnalyticsMemo {
  private readonly entries: RecentMap<string, { readonly revision: string; readonly figures: Promise<CycleMetrics | null> }>;

  constructor(capacity = 4_096) {
    this.entries = new RecentMap(capacity);
  }

  async figures(
    key: string,
    revision: string,
    compute: () => Promise<CycleMetrics | null>,
    revisionNow: () => Promise<string | undefined>,
  ): Promise<CycleMetrics | null> {
    const known = this.entries.get(key);
    if (known?.revision === revision) {
      this.entries.set(key, known);
      return known.figures;
    }
    const figures = compute();
    this.entries.set(key, { revision, figures });
    let keep = false;
    try {
      const result = await figures;
      keep = (await revisionNow()) === revision;
      return result;
    } finally {
      if (!keep && this.entries.get(key)?.figures === figures) this.entries.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
