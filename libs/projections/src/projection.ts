import type { StoredDealEvent } from '@deals/deal-streams';
import type { JsonObject, ReadModelChange } from '@deals/read-models';

/** Read access to documents as they stand before the event, including changes earlier in the same batch. */
export interface DocumentReader {
  get(collection: string, id: string): JsonObject | undefined;
}

export interface DocumentRef {
  readonly collection: string;
  readonly id: string;
}

/**
 * A projection is a pure function of events to read-model changes. The runner loads the documents
 * named by `reads` (in one round trip per batch), calls `project` for each event in order, and
 * commits the batch's changes together with the checkpoint.
 *
 * Every collection, counter and index name a projection writes starts with `${name}:`.
 */
export interface Projection {
  readonly name: string;
  /** Documents `project` may read for this event. */
  reads(event: StoredDealEvent): readonly DocumentRef[];
  /** The changes this event makes. Pure: no clock, no I/O; the same input gives the same output. */
  project(event: StoredDealEvent, documents: DocumentReader): ReadModelChange[];
}
