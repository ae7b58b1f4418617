/**
 * The read-model store port: documents, counters and sorted indexes, written only through atomic
 * commits that also move a projection's checkpoint, so a crash or restart neither skips nor
 * double-counts an event. Adapters: embedded (SQLite file) and Redis.
 *
 * Every name (collection, counter, index) starts with the owning projection's name and a colon,
 * e.g. `pipeline:deal`, so that one projection can be reset and rebuilt without touching others.
 * Projection names hold no colon. Ids and members are ordered by their UTF-8 bytes in every adapter.
 */
import type { Position } from '@deals/event-store';
import type { ChangeSet } from './change-set';

export type JsonObject = { readonly [key: string]: unknown };

export type ReadModelChange =
  /** Create or replace a document. */
  | { readonly kind: 'put'; readonly collection: string; readonly id: string; readonly document: JsonObject }
  | { readonly kind: 'delete'; readonly collection: string; readonly id: string }
  /** Add `by` (may be negative or fractional) to one field of a counter hash; missing fields count as 0. */
  | { readonly kind: 'increment'; readonly counter: string; readonly field: string; readonly by: number }
  /** Add or re-score a member of a sorted index. */
  | { readonly kind: 'index'; readonly index: string; readonly member: string; readonly score: number }
  | { readonly kind: 'unindex'; readonly index: string; readonly member: string };

/**
 * A commit's changes: a list, or a ChangeSet of the projection's that holds them checked and folded
 * already (a projection runner's batch), which the store takes as it is rather than folding again.
 */
export type ReadModelChanges = readonly ReadModelChange[] | ChangeSet;

export interface Checkpoint {
  /** Position of the last event whose changes are committed. */
  readonly position: Position;
  /** Events the projection has processed since it was last reset. */
  readonly eventsProcessed: number;
  /** When the last processed event was recorded (ISO 8601), to report lag in time. */
  readonly lastRecordedAt: string;
}

/** What ReadModelStore.countersSince answers. */
export interface CounterChanges {
  /** Rounded as `counters` rounds them. */
  readonly fields: Readonly<Record<string, number>>;
  readonly whole: boolean;
  /** To ask from next time; undefined from a store that answers every hash whole. */
  readonly stamp: number | undefined;
}

export interface IndexEntry {
  readonly member: string;
  readonly score: number;
}

export interface RangeOptions {
  /** Inclusive score bounds. */
  readonly min?: number;
  readonly max?: number;
  /** Resume after this entry (exclusive), in the direction of travel: keyset pagination. */
  readonly after?: IndexEntry;
  readonly limit: number;
  /** Highest score first. Ties are ordered by member, in the same direction. */
  readonly reverse?: boolean;
  /**
   * Skip this many entries (within the bounds, in the direction of travel) before the first one
   * returned: the k-th value of a range without reading the k before it. Not with `after`.
   */
  readonly offset?: number;
}

export type ScoreRangeOptions = Omit<RangeOptions, 'after'>;

export interface CommitOptions {
  /**
   * The commit is one of a catch-up's (a rebuild's): more follow, and no reader needs its indexes soon.
   * A store may then defer index work until settle() or the first read of the projection's indexes
   * (the embedded store stages a fresh projection's index entries and sorts them in at the end).
   * Nothing a reader sees changes: every read answers as if each commit had been applied in full.
   */
  readonly catchingUp?: boolean;
}

export interface GetOptions {
  /**
   * For a reader that only reads: the documents come deep-frozen, and a store may hand the same
   * objects to every such reader until they change, sparing a parse per read. Without it, each read
   * is the caller's own copy.
   */
  readonly frozen?: boolean;
}

export interface ReadModelStore {
  /**
   * Applies the changes, in order, and sets the checkpoint, all or nothing. Resolves once durable.
   * Rejects, writing nothing, when a change is malformed (a non-finite number, a document that is not
   * a JSON object) or names something outside `${projection}:`.
   */
  commit(projection: string, changes: ReadModelChanges, checkpoint: Checkpoint, options?: CommitOptions): Promise<void>;

  /**
   * Does the work catch-up commits deferred (see CommitOptions), so that the next read does not pay for
   * it. Changes nothing a reader sees; a no-op when nothing is deferred.
   */
  settle(projection: string): Promise<void>;

  checkpoint(projection: string): Promise<Checkpoint | undefined>;

  get(collection: string, id: string): Promise<JsonObject | undefined>;

  /** Documents in the order of `ids`; undefined where missing. */
  getMany(collection: string, ids: readonly string[], options?: GetOptions): Promise<ReadonlyArray<JsonObject | undefined>>;

  /**
   * Every document of a collection in pages, so a large collection never loads whole, in the order
   * the adapter reads fastest (embedded: the order they were first written; Redis: by id). Not a
   * snapshot: each document that exists from the scan's start until its page is read is seen once, as
   * the last commit before its page was read; one written or deleted in between may be missed, never
   * seen twice. Other work runs between pages, so a scan of every deal does not hold up the requests
   * behind it.
   */
  scan(collection: string, options?: { readonly pageSize?: number }): AsyncIterable<{ readonly id: string; readonly document: JsonObject }>;

  /**
   * The fields of a counter hash ({} when absent), rounded to six decimals to hide floating-point
   * noise: all of them, or only those named in `fields` that exist, so that a caller needing a few
   * fields of a wide hash does not read the rest.
   */
  counters(counter: string, fields?: readonly string[]): Promise<Readonly<Record<string, number>>>;

  /**
   * A counter hash as it changed since `since`, a stamp an earlier answer gave: the fields changed
   * since then, each as it is now, or every field (`whole`) when `since` is undefined or the store
   * cannot answer from it (a reset since). So a caller that keeps a wide hash brings it up to date
   * by taking these fields over what it kept, rather than reading every field again. A store that
   * keeps no stamps answers whole every time, with no stamp.
   */
  countersSince(counter: string, since: number | undefined): Promise<CounterChanges>;

  range(index: string, options: RangeOptions): Promise<IndexEntry[]>;

  /**
   * The scores `range` would answer, without their members, in the same order: for a caller that
   * needs the values and not who holds them (a percentile), which costs a fraction of reading the
   * members. No `after` cursor: a cursor needs the member.
   */
  scores(index: string, options: ScoreRangeOptions): Promise<number[]>;

  /**
   * The scores `scores` would answer for one index holding every entry of these indexes: one read
   * for a value among many indexes (a percentile over many scopes), rather than one read per index
   * each returning as many scores as the whole answer might need.
   */
  unionScores(indexes: readonly string[], options: ScoreRangeOptions): Promise<number[]>;

  /**
   * Members with min <= score <= max; with a limit, counts no further than it (answers at most limit),
   * so that a caller who only needs to know which of two ranges is the smaller pays for that one.
   */
  count(index: string, min?: number, max?: number, limit?: number): Promise<number>;

  /** Removes every document, counter, index and the checkpoint of the projection. */
  reset(projection: string): Promise<void>;

  close(): Promise<void>;
}
