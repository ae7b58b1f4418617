import { RecentMap } from '@deals/platform';
import { type Remembered, sharedAnswer } from '../shared-answer';
import type { PipelineView } from './pipeline.query';

/** An answer and the instants (epoch ms) between which rotting judges each of its deals the same. */
export interface TimedPipelineView {
  readonly view: PipelineView;
  /** Inclusive: the instant it was computed for. */
  readonly from: number;
  /** Exclusive: the first instant at which a deal of its stages starts to rot; Infinity when none will. */
  readonly until: number;
}

/**
 * Pipeline answers remembered under the checkpoint of the pipeline projection, so that a dashboard
 * polling the same view reads the totals, the rotting counts and the deals once per commit rather
 * than once per ask.
 *
 * Exact by construction: the projection is a fold over the events, committed with its checkpoint in
 * one transaction, so a checkpoint names one state of the read model (a rebuild passes through the
 * same states; a replay writes to a read model of its own). Time is the answer's other input:
 * rotting is judged against `now`, so an answer holds from the instant it was computed for until the
 * next deal of its stages crosses its stage's limit, and is computed again outside that window. Kept
 * only if the checkpoint read once it is computed is the one read before. Askers of the same
 * question at the same checkpoint share one computation; the least recently asked of `capacity`
 * questions is dropped.
 */
export class PipelineMemo {
  private readonly answers: RecentMap<string, Remembered<TimedPipelineView>>;

  constructor(capacity = 256) {
    this.answers = new RecentMap(capacity);
  }

  answer(key: string, checkpoint: string, now: number, compute: () => Promise<TimedPipelineView>, keep: () => Promise<boolean>): Promise<TimedPipelineView> {
    return sharedAnswer(this.answers, key, checkpoint, compute, keep, ({ from, until }) => from <= now && now < until);
  }
}
