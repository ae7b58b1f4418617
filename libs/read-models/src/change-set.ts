import type { JsonObject, ReadModelChange, ReadModelChanges } from './read-model-store.port';

/**
 * Changes folded into their net effect as they are added. Each kind of change writes its own kind of
 * storage, and puts, deletes, index and unindex are absolute, so the last one per target wins and the
 * increments of one field add up: committing `toChanges()` does what committing every change in order
 * would, with far fewer writes (a rebuild batch increments the same totals thousands of times).
 *
 * Folding as changes come, rather than keeping them all until the commit, also lets the change
 * objects die young, which matters to the garbage collector on a rebuild of a million events.
 */
export class ChangeSet {
  /**
   * The changes checked and folded for the projection: a change set of its own as it is (its changes
   * were checked as they came), or a new one holding an array's. Throws, like add(), on a malformed
   * change or one outside the projection's namespace.
   */
  static of(projection: string, changes: ReadModelChanges): ChangeSet {
    if (changes instanceof ChangeSet) {
      if (changes.namespace !== projectionNamespace(projection)) {
        throw new TypeError(`A change set of ${JSON.stringify(changes.namespace)} is outside the projection's namespace ${projectionNamespace(projection)}`);
      }
      return changes;
    }
    const set = new ChangeSet(projection);
    set.add(changes);
    return set;
  }

  /** collection → id → the document, or null when deleted. */
  readonly documents = new Map<string, Map<string, JsonObject | null>>();
  /** counter → field → sum of the increments. */
  readonly counters = new Map<string, Map<string, number>>();
  /** index → member → score, or null when unindexed. */
  readonly indexes = new Map<string, Map<string, number | null>>();
  private readonly namespace: string;

  constructor(projection: string) {
    this.namespace = projectionNamespace(projection);
  }

  /** Checks every change first, so that a bad one (thrown as a TypeError or RangeError) adds nothing. */
  add(changes: readonly ReadModelChange[]): void {
    for (const change of changes) this.check(change);
    for (const change of changes) this.fold(change);
  }

  /** The net effect, as few changes as do the same. */
  toChanges(): ReadModelChange[] {
    const changes: ReadModelChange[] = [];
    for (const [collection, documents] of this.documents) {
      for (const [id, document] of documents) {
        changes.push(document === null ? { kind: 'delete', collection, id } : { kind: 'put', collection, id, document });
      }
    }
    for (const [counter, fields] of this.counters) {
      for (const [field, by] of fields) changes.push({ kind: 'increment', counter, field, by });
    }
    for (const [index, members] of this.indexes) {
      for (const [member, score] of members) {
        changes.push(score === null ? { kind: 'unindex', index, member } : { kind: 'index', index, member, score });
      }
    }
    return changes;
  }

  private check(change: ReadModelChange): void {
    switch (change.kind) {
      case 'put':
        this.owned(change.collection);
        text(change.id, 'id');
        if (typeof change.document !== 'object' || change.document === null || Array.isArray(change.document)) {
          throw new TypeError('A read-model document must be a JSON object');
        }
        return;
      case 'delete':
        this.owned(change.collection);
        text(change.id, 'id');
        return;
      case 'increment':
        this.owned(change.counter);
        text(change.field, 'field');
        finite(change.by, 'by');
        return;
      case 'index':
        this.owned(change.index);
        text(change.member, 'member');
        finite(change.score, 'score');
        return;
      case 'unindex':
        this.owned(change.index);
        text(change.member, 'member');
        return;
      default:
        throw new TypeError(`Unknown read-model change ${JSON.stringify(change satisfies never)}`);
    }
  }

  private fold(change: ReadModelChange): void {
    switch (change.kind) {
      case 'put':
        entriesOf(this.documents, change.collection).set(change.id, change.document);
        return;
      case 'delete':
        entriesOf(this.documents, change.collection).set(change.id, null);
        return;
      case 'increment': {
        const fields = entriesOf(this.counters, change.counter);
        fields.set(change.field, (fields.get(change.field) ?? 0) + change.by);
        return;
      }
      case 'index':
        entriesOf(this.indexes, change.index).set(change.member, change.score);
        return;
      case 'unindex':
        entriesOf(this.indexes, change.index).set(change.member, null);
        return;
      default:
        throw new TypeError(`Unknown read-model change ${JSON.stringify(change satisfies never)}`);
    }
  }

  private owned(name: string): void {
    if (typeof name !== 'string' || !name.startsWith(this.namespace)) {
      throw new TypeError(`Read-model name ${JSON.stringify(name)} is outside the projection's namespace ${this.namespace}`);
    }
  }
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

function entriesOf<V>(maps: Map<string, Map<string, V>>, name: string): Map<string, V> {
  let entries = maps.get(name);
  if (entries === undefined) {
    entries = new Map();
    maps.set(name, entries);
  }
  return entries;
}

function text(value: string, what: string): void {
  if (typeof value !== 'string') throw new TypeError(`A read-model ${what} must be a string, got ${typeof value}`);
}

function finite(value: number, what: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new RangeError(`${what} must be a finite number, got ${String(value)}`);
}
