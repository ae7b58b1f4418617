import type { Checkpoint, ReadModelStore } from '@deals/read-models';

export type RelayCheckpoint = Checkpoint;

/** Where the relay keeps the position of the last event the broker acknowledged. */
export interface RelayCheckpointStore {
  load(): Promise<RelayCheckpoint | undefined>;
  /** Resolves once durable. */
  save(checkpoint: RelayCheckpoint): Promise<void>;
}

/**
 * The checkpoint in the read-model store (embedded SQLite or Redis), as a projection named
 * `relay-<topic>` that commits no changes. The store already writes checkpoints atomically and
 * durably, is shared by every process of a deployment (Redis), and its reset() is how an operator
 * would re-publish everything. Projection names hold no colon, hence `relay-` rather than `relay:`.
 */
export class ReadModelRelayCheckpointStore implements RelayCheckpointStore {
  constructor(
    private readonly store: ReadModelStore,
    readonly name: string,
  ) {}

  static forTopic(store: ReadModelStore, topic: string): ReadModelRelayCheckpointStore {
    return new ReadModelRelayCheckpointStore(store, `relay-${topic}`);
  }

  load(): Promise<RelayCheckpoint | undefined> {
    return this.store.checkpoint(this.name);
  }

  save(checkpoint: RelayCheckpoint): Promise<void> {
    return this.store.commit(this.name, [], checkpoint);
  }
}
