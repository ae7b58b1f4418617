import type { CycleAnalytics } from './cycle-metrics';

/**
 * Answers the pre-aggregates gave, remembered per question under the analytics checkpoint they were
 * computed at, so that a dashboard asking the same `groupBy` again and again (30+ ms of reads each
 * time) costs a lookup until the projection commits again.
 *
 * Exact by construction: a projection is a fold over the events, so its read model at a checkpoint
 * is the same whatever happened before (a reset and rebuild reaches the same state at the same
 * position). Only answers with nothing to correct are remembered (no deal changed after asOf): those
 * do not depend on asOf. An answer is kept only if the checkpoint read after computing it is the one
 * read before, so a commit landing in between cannot leave a mixed answer behind. One entry per
 * question (its newest checkpoint), the least recently asked dropped beyond `capacity`. Askers of a
 * question at the same checkpoint share one computation.
 */
export class AnalyticsMemo {
  private readonly entries = new Map<string, { readonly at: string; readonly answer: Promise<CycleAnalytics | undefined> }>();

  constructor(private readonly capacity = 256) {}

  async answer(
    question: string,
    at: string,
    compute: () => Promise<CycleAnalytics | undefined>,
    checkpointNow: () => Promise<string | undefined>,
  ): Promise<CycleAnalytics | undefined> {
    const known = this.entries.get(question);
    this.entries.delete(question);
    if (known?.at === at) {
      this.entries.set(question, known);
      return known.answer;
    }
    const answer = compute();
    this.entries.set(question, { at, answer });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(oldest);
    }
    let keep = false;
    try {
      const result = await answer;
      keep = result !== undefined && (await checkpointNow()) === at;
      return result;
    } finally {
      if (!keep && this.entries.get(question)?.answer === answer) this.entries.delete(question);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
