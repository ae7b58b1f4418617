import type { Checkpoint, CommitOptions, CounterChanges, GetOptions, IndexEntry, JsonObject, RangeOptions, ReadModelChanges, ReadModelStore, ScoreRangeOptions } from '@deals/read-models';

/** Whatever says whether this process may write now; LeaderElection is one. */
export interface Fence {
  /** Throws when this process must not write. */
  assertHeld(): void;
}

/**
 * A read-model store whose writes (commit, reset) go through only while the fence holds: the store
 * the projector and the relay write with, so that a standby never writes and a leader that lost its
 * lease stops. Reads pass straight through; closing is left to whoever opened the inner store.
 *
 * The check comes just before the write is sent. A process paused for longer than the lease's margin
 * between the check and the write reaching the store could still land one commit after another
 * process took over; docs/production.md says why that is acceptable (the commit is atomic with its
 * checkpoint, and the worst case is one batch counted twice, which a rebuild repairs).
 */
export class FencedReadModelStore implements ReadModelStore {
  constructor(
    private readonly inner: ReadModelStore,
    private readonly fence: Fence,
  ) {}

  async commit(projection: string, changes: ReadModelChanges, checkpoint: Checkpoint, options?: CommitOptions): Promise<void> {
    this.fence.assertHeld();
    return this.inner.commit(projection, changes, checkpoint, options);
  }

  /** Not fenced: settling changes nothing a reader sees, and any reader may do it (see ReadModelStore.settle). */
  settle(projection: string): Promise<void> {
    return this.inner.settle(projection);
  }

  async reset(projection: string): Promise<void> {
    this.fence.assertHeld();
    return this.inner.reset(projection);
  }

  checkpoint(projection: string): Promise<Checkpoint | undefined> {
    return this.inner.checkpoint(projection);
  }

  get(collection: string, id: string): Promise<JsonObject | undefined> {
    return this.inner.get(collection, id);
  }

  getMany(collection: string, ids: readonly string[], options?: GetOptions): Promise<ReadonlyArray<JsonObject | undefined>> {
    return this.inner.getMany(collection, ids, options);
  }

  scan(collection: string, options?: { readonly pageSize?: number }): AsyncIterable<{ readonly id: string; readonly document: JsonObject }> {
    return this.inner.scan(collection, options);
  }

  counters(counter: string, fields?: readonly string[]): Promise<Readonly<Record<string, number>>> {
    return this.inner.counters(counter, fields);
  }

  countersSince(counter: string, since: number | undefined): Promise<CounterChanges> {
    return this.inner.countersSince(counter, since);
  }

  range(index: string, options: RangeOptions): Promise<IndexEntry[]> {
    return this.inner.range(index, options);
  }

  scores(index: string, options: ScoreRangeOptions): Promise<number[]> {
    return this.inner.scores(index, options);
  }

  unionScores(indexes: readonly string[], options: ScoreRangeOptions): Promise<number[]> {
    return this.inner.unionScores(indexes, options);
  }

  count(index: string, min?: number, max?: number, limit?: number): Promise<number> {
    return this.inner.count(index, min, max, limit);
  }

  /** The inner store is shared with the rest of the process, which closes it. */
  async close(): Promise<void> {}
}
