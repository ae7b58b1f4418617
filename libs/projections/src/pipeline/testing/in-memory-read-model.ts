import { setImmediate } from 'node:timers/promises';
import type { StoredDealEvent } from '@deals/deal-streams';
import type { DealEvent } from '@deals/domain';
import {
  ChangeSet,
  type Checkpoint,
  type CounterChanges,
  counterFields,
  countLimit,
  frozenDocument,
  type GetOptions,
  type IndexEntry,
  type JsonObject,
  netChanges,
  nonNegativeInteger,
  projectionNamespace,
  rangeOffset,
  type RangeOptions,
  type ScoreRangeOptions,
  type ReadModelChange,
  type ReadModelChanges,
  type ReadModelStore,
  roundCounter,
  unionScoresOneByOne,
  validCheckpoint,
} from '@deals/read-models';
import type { DocumentReader, Projection } from '../../projection';

/**
 * A read-model store in memory, with the port's semantics, for unit tests of projections and of
 * the queries that read them, held to the port's conformance suite like the adapters. Not an adapter:
 * no durability, and a sort per range call.
 */
export class InMemoryReadModelStore implements ReadModelStore {
  readonly documents = new Map<string, Map<string, JsonObject>>();
  readonly counterHashes = new Map<string, Map<string, number>>();
  readonly indexes = new Map<string, Map<string, number>>();
  private readonly checkpoints = new Map<string, Checkpoint>();
  /** As the embedded store stamps counters (countersSince): per hash, the stamp of each field's latest change. */
  private readonly fieldStamps = new Map<string, Map<string, number>>();
  private latestStamp = 0;
  private resetAt = 0;

  apply(changes: readonly ReadModelChange[]): void {
    const stamp = this.latestStamp + 1;
    if (changes.some((change) => change.kind === 'increment')) this.latestStamp = stamp;
    for (const change of changes) {
      switch (change.kind) {
        case 'put':
          mapOf(this.documents, change.collection).set(change.id, structuredClone(change.document));
          break;
        case 'delete':
          this.documents.get(change.collection)?.delete(change.id);
          break;
        case 'increment': {
          const hash = mapOf(this.counterHashes, change.counter);
          hash.set(change.field, (hash.get(change.field) ?? 0) + change.by);
          mapOf(this.fieldStamps, change.counter).set(change.field, stamp);
          break;
        }
        case 'index':
          mapOf(this.indexes, change.index).set(change.member, change.score);
          break;
        case 'unindex':
          this.indexes.get(change.index)?.delete(change.member);
          break;
        default:
          throw new Error(`Unknown change ${JSON.stringify(change satisfies never)}`);
      }
    }
  }

  async commit(projection: string, changes: ReadModelChanges, checkpoint: Checkpoint): Promise<void> {
    // The adapters' own checks (folding, then serialising every document), before anything is
    // applied: a bad commit changes nothing. The net changes do what the changes in order would.
    const set = ChangeSet.of(projection, changes);
    netChanges(projection, set);
    validCheckpoint(checkpoint);
    this.apply(set.toChanges());
    this.checkpoints.set(projection, checkpoint);
  }

  async checkpoint(projection: string): Promise<Checkpoint | undefined> {
    return this.checkpoints.get(projection);
  }

  /** A copy, as the adapters hand out: a caller that changes it changes nothing kept. */
  async get(collection: string, id: string): Promise<JsonObject | undefined> {
    const document = this.getSync(collection, id);
    return document === undefined ? undefined : structuredClone(document);
  }

  getSync(collection: string, id: string): JsonObject | undefined {
    return this.documents.get(collection)?.get(id);
  }

  async getMany(collection: string, ids: readonly string[], options: GetOptions = {}): Promise<ReadonlyArray<JsonObject | undefined>> {
    return ids.map((id) => {
      const document = this.getSync(collection, id);
      if (document === undefined) return undefined;
      return options.frozen ? frozenDocument(structuredClone(document)) : structuredClone(document);
    });
  }

  /** Page by page, as the adapters read: documents written during the scan after its position are seen. */
  async *scan(collection: string, options?: { readonly pageSize?: number }): AsyncIterable<{ readonly id: string; readonly document: JsonObject }> {
    const pageSize = options?.pageSize ?? 500;
    let after: string | undefined;
    for (;;) {
      const page = [...(this.documents.get(collection)?.entries() ?? [])]
        .filter(([id]) => after === undefined || id > after)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, pageSize);
      for (const [id, document] of page) yield { id, document };
      if (page.length < pageSize) return;
      after = page.at(-1)?.[0];
      await setImmediate();
    }
  }

  async counters(counter: string, fields?: readonly string[]): Promise<Readonly<Record<string, number>>> {
    const named = fields && new Set(counterFields(fields));
    return this.fieldsOf(counter, (field) => named === undefined || named.has(field));
  }

  async countersSince(counter: string, since: number | undefined): Promise<CounterChanges> {
    if (since !== undefined) nonNegativeInteger(since, 'since');
    const whole = since === undefined || since < this.resetAt || since > this.latestStamp;
    const stamps = this.fieldStamps.get(counter);
    return { fields: this.fieldsOf(counter, (field) => whole || stamps!.get(field)! > since!), whole, stamp: this.latestStamp };
  }

  /** A hash's fields that `keep` picks, rounded as the adapters read them. */
  private fieldsOf(counter: string, keep: (field: string) => boolean): Record<string, number> {
    const entries = [...(this.counterHashes.get(counter) ?? [])].filter(([field]) => keep(field));
    return Object.fromEntries(entries.map(([field, value]) => [field, roundCounter(value)]));
  }

  async range(index: string, options: RangeOptions): Promise<IndexEntry[]> {
    const { min = -Infinity, max = Infinity, after, limit, reverse = false } = options;
    const offset = rangeOffset(options);
    const direction = reverse ? -1 : 1;
    const compare = (a: IndexEntry, b: IndexEntry) =>
      direction * (a.score !== b.score ? a.score - b.score : a.member < b.member ? -1 : a.member > b.member ? 1 : 0);
    return [...(this.indexes.get(index) ?? new Map<string, number>()).entries()]
      .map(([member, score]) => ({ member, score }))
      .filter((entry) => entry.score >= min && entry.score <= max)
      .sort(compare)
      .filter((entry) => after === undefined || compare(entry, after) > 0)
      .slice(offset, offset + limit);
  }

  async scores(index: string, options: ScoreRangeOptions): Promise<number[]> {
    return (await this.range(index, options)).map((entry) => entry.score);
  }

  async unionScores(indexes: readonly string[], options: ScoreRangeOptions): Promise<number[]> {
    return unionScoresOneByOne((index, each) => this.scores(index, each), indexes, options);
  }

  async count(index: string, min = -Infinity, max = Infinity, limit?: number): Promise<number> {
    return Math.min(countLimit(limit), [...(this.indexes.get(index)?.values() ?? [])].filter((score) => score >= min && score <= max).length);
  }

  /** Nothing is deferred here. */
  async settle(projection: string): Promise<void> {
    projectionNamespace(projection);
  }

  async reset(projection: string): Promise<void> {
    const prefix = projectionNamespace(projection);
    for (const map of [this.documents, this.counterHashes, this.fieldStamps, this.indexes]) {
      for (const name of [...map.keys()]) if (name.startsWith(prefix)) map.delete(name);
    }
    this.resetAt = ++this.latestStamp;
    this.checkpoints.delete(projection);
  }

  async close(): Promise<void> {}

  /** Runs events through a projection the way the runner does: each sees the changes before it. */
  project(projection: Projection, events: readonly StoredDealEvent[]): ReadModelChange[] {
    const reader: DocumentReader = { get: (collection, id) => this.getSync(collection, id) };
    const all: ReadModelChange[] = [];
    for (const event of events) {
      const changes = projection.project(event, reader);
      this.apply(changes);
      all.push(...changes);
    }
    return all;
  }

  /** Counter hashes without fields that net to zero (up to rounding), for comparing states. */
  settledCounters(prefix: string): Record<string, Record<string, number>> {
    const result: Record<string, Record<string, number>> = {};
    for (const [name, hash] of [...this.counterHashes.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!name.startsWith(prefix)) continue;
      const fields = [...hash.entries()]
        .filter(([, value]) => Math.abs(value) > 1e-9)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([field, value]) => [field, Math.round(value * 1e6) / 1e6] as const);
      if (fields.length > 0) result[name] = Object.fromEntries(fields);
    }
    return result;
  }

  indexEntries(index: string): Record<string, number> {
    return Object.fromEntries([...(this.indexes.get(index) ?? [])].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}

function mapOf<V>(maps: Map<string, Map<string, V>>, name: string): Map<string, V> {
  let map = maps.get(name);
  if (!map) {
    map = new Map();
    maps.set(name, map);
  }
  return map;
}

/** A deal's events as the store hands them to projections, numbered as one stream. */
export function dealStream(dealId: string, events: readonly DealEvent[], options: { firstPosition?: number; actor?: string } = {}): StoredDealEvent[] {
  const first = options.firstPosition ?? 1;
  return events.map((event, revision) => ({
    eventId: `${dealId}-${revision}`,
    dealId,
    revision: BigInt(revision),
    position: { commit: BigInt(first + revision), prepare: BigInt(first + revision) },
    event,
    storedData: { ...event.data },
    metadata: {
      schemaVersion: 1,
      actor: options.actor ?? 'importer',
      commandId: `cmd-${dealId}-${revision}`,
      correlationId: `corr-${dealId}`,
      causationId: `cmd-${dealId}-${revision}`,
      occurredAt: event.occurredAt,
      // Recorded long after the business time: imported history must be measured by occurredAt.
      recordedAt: '2026-01-15T00:00:00.000Z',
    },
  }));
}
