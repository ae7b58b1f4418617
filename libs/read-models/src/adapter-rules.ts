/** What every read-model adapter enforces the same way, so that they behave alike. */
import { ChangeSet } from './change-set';
import type { Checkpoint, RangeOptions, ReadModelChanges, ScoreRangeOptions } from './read-model-store.port';

export { projectionNamespace } from './change-set';

/** A commit's changes, validated and reduced to their net effect (see ChangeSet), documents as JSON. */
export interface NetChanges {
  /** collection → id → the document as JSON, or null when deleted. */
  readonly documents: Map<string, Map<string, string | null>>;
  readonly counters: ReadonlyMap<string, ReadonlyMap<string, number>>;
  readonly indexes: ReadonlyMap<string, ReadonlyMap<string, number | null>>;
}

/**
 * Validates and serializes every change before an adapter writes anything, so that a bad change fails
 * the whole commit up front: the adapters' atomicity never depends on a store rolling back (Redis
 * does not). JSON.stringify throws on what JSON cannot hold (a bigint, a cycle).
 */
export function netChanges(projection: string, changes: ReadModelChanges): NetChanges {
  const set = ChangeSet.of(projection, changes);
  // Serialized last, so that a document put again later in the batch is never serialized.
  const documents = new Map<string, Map<string, string | null>>();
  for (const [collection, entries] of set.documents) {
    documents.set(collection, new Map([...entries].map(([id, document]) => [id, document === null ? null : JSON.stringify(document)])));
  }
  return { documents, counters: set.counters, indexes: set.indexes };
}

/** Counter values as read back: six decimals hide floating-point noise (0.1 + 0.2 reads 0.3), and -0 reads 0. */
export function roundCounter(value: number): number {
  return Math.round(value * 1e6) / 1e6 + 0;
}

/** Refuses a checkpoint the stores could not round-trip. */
export function validCheckpoint(checkpoint: Checkpoint): Checkpoint {
  const { position, eventsProcessed, lastRecordedAt } = checkpoint;
  if (typeof position.commit !== 'bigint' || typeof position.prepare !== 'bigint' || position.commit < 0n || position.prepare < 0n) {
    throw new TypeError('A checkpoint position must be two non-negative bigints');
  }
  nonNegativeInteger(eventsProcessed, 'eventsProcessed');
  if (typeof lastRecordedAt !== 'string') throw new TypeError('lastRecordedAt must be an ISO 8601 string');
  return checkpoint;
}

export function nonNegativeInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  return value;
}

/** A range's offset, checked: a whole number, and never beside a keyset cursor (they would compound). */
export function rangeOffset(options: RangeOptions): number {
  const offset = nonNegativeInteger(options.offset ?? 0, 'offset');
  if (offset > 0 && options.after !== undefined) throw new RangeError('A range takes an offset or an `after` cursor, not both');
  return offset;
}

/**
 * unionScores for a store that reads one index at a time: the nearest offset + limit scores of each
 * index (each named once), merged in the direction of travel.
 */
export async function unionScoresOneByOne(
  scores: (index: string, options: ScoreRangeOptions) => Promise<number[]>,
  indexes: readonly string[],
  options: ScoreRangeOptions,
): Promise<number[]> {
  const limit = nonNegativeInteger(options.limit, 'limit');
  const offset = rangeOffset(options);
  if (limit === 0) return [];
  const each = await Promise.all([...new Set(indexes)].map((index) => scores(index, { ...options, offset: 0, limit: offset + limit })));
  return mergedScores(each, options.reverse ?? false, offset, limit);
}

/** Reads of scores, each its part's nearest offset + limit, merged in the direction of travel: the union's `limit` after `offset`. */
export function mergedScores(reads: ReadonlyArray<readonly number[]>, reverse: boolean, offset: number, limit: number): number[] {
  const direction = reverse ? -1 : 1;
  return reads
    .flat()
    .sort((a, b) => direction * (a - b))
    .slice(offset, offset + limit);
}

/** The fields a counters read names, checked: strings, each once. */
export function counterFields(fields: readonly string[]): string[] {
  if (!Array.isArray(fields) || fields.some((field) => typeof field !== 'string')) throw new TypeError('counter fields must be an array of strings');
  return [...new Set(fields)];
}

/** A count's limit, checked: a positive whole number, or Infinity when none is given. */
export function countLimit(limit: number | undefined): number {
  return limit === undefined ? Infinity : positiveInteger(limit, 'limit');
}

export function positiveInteger(value: number, what: string): number {
  if (nonNegativeInteger(value, what) === 0) throw new RangeError(`${what} must be positive`);
  return value;
}

/** A parsed document frozen all the way down, as `GetOptions.frozen` hands it out. */
export function frozenDocument<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) frozenDocument(member);
    Object.freeze(value);
  }
  return value;
}
