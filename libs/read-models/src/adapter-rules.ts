/** What every read-model adapter enforces the same way, so that they behave alike. */
import type { Checkpoint, ReadModelChange } from './read-model-store.port';

/**
 * A commit's changes, validated and reduced to their net effect. Each kind of change writes its own
 * kind of storage, and puts, deletes, index and unindex are absolute, so the last one per target wins
 * and increments of one field add up: applying this is the same as applying the list in order, with
 * far fewer writes (a rebuild batch increments the same totals thousands of times).
 */
export interface NetChanges {
  /** collection → id → the document as JSON, or null when deleted. */
  readonly documents: Map<string, Map<string, string | null>>;
  /** counter → field → sum of the increments. */
  readonly counters: Map<string, Map<string, number>>;
  /** index → member → score, or null when unindexed. */
  readonly indexes: Map<string, Map<string, number | null>>;
}

/**
 * Validates every change before an adapter writes anything, so that a bad change fails the whole
 * commit up front: the adapters' atomicity then never depends on a store rolling back (Redis does not).
 */
export function netChanges(projection: string, changes: readonly ReadModelChange[]): NetChanges {
  const namespace = projectionNamespace(projection);
  const net: NetChanges = { documents: new Map(), counters: new Map(), indexes: new Map() };
  for (const change of changes) {
    switch (change.kind) {
      case 'put':
        entriesOf(net.documents, owned(namespace, change.collection)).set(text(change.id, 'id'), toJson(change.document));
        break;
      case 'delete':
        entriesOf(net.documents, owned(namespace, change.collection)).set(text(change.id, 'id'), null);
        break;
      case 'increment': {
        const fields = entriesOf(net.counters, owned(namespace, change.counter));
        const field = text(change.field, 'field');
        fields.set(field, (fields.get(field) ?? 0) + finite(change.by, 'by'));
        break;
      }
      case 'index':
        entriesOf(net.indexes, owned(namespace, change.index)).set(text(change.member, 'member'), finite(change.score, 'score'));
        break;
      case 'unindex':
        entriesOf(net.indexes, owned(namespace, change.index)).set(text(change.member, 'member'), null);
        break;
      default:
        throw new TypeError(`Unknown read-model change ${JSON.stringify(change satisfies never)}`);
    }
  }
  return net;
}

/**
 * `${projection}:`, the start of every name the projection owns. A projection name holds no colon, so
 * resetting `pipe` can never reach into a projection named `pipe:line`.
 */
export function projectionNamespace(projection: string): string {
  if (typeof projection !== 'string' || !/^[^:]+$/.test(projection)) {
    throw new TypeError(`A projection name must be a non-empty string without ':', got ${JSON.stringify(projection)}`);
  }
  return `${projection}:`;
}

/** Counter values as read back: six decimals hide floating-point noise (0.1 + 0.2 reads 0.3), and -0 reads 0. */
export function roundCounter(value: number): number {
  return Math.round(value * 1e6) / 1e6 + 0;
}

function owned(namespace: string, name: string): string {
  if (typeof name !== 'string' || !name.startsWith(namespace)) {
    throw new TypeError(`Read-model name ${JSON.stringify(name)} is outside the projection's namespace ${namespace}`);
  }
  return name;
}

function entriesOf<V>(maps: Map<string, Map<string, V>>, name: string): Map<string, V> {
  let entries = maps.get(name);
  if (entries === undefined) {
    entries = new Map();
    maps.set(name, entries);
  }
  return entries;
}

function text(value: string, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`A read-model ${what} must be a string, got ${typeof value}`);
  return value;
}

function finite(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new RangeError(`${what} must be a finite number, got ${String(value)}`);
  return value;
}

function toJson(document: unknown): string {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new TypeError('A read-model document must be a JSON object');
  }
  return JSON.stringify(document);
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

export function positiveInteger(value: number, what: string): number {
  if (nonNegativeInteger(value, what) === 0) throw new RangeError(`${what} must be positive`);
  return value;
}
