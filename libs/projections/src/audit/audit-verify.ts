import { DealEventReader, dealIdOf, dealStreamPrefix, type StoredDealEvent } from '@deals/deal-streams';
import { comparePositions, type EventStore, formatPosition, type RecordedEvent } from '@deals/event-store';
import type { JsonObject, ReadModelStore } from '@deals/read-models';
import { auditHash, type AuditHashFields, auditHashFields, genesisHash } from './audit-hash';
import { auditCollections, auditIndexes, auditProjectionName, entryId, positionScore } from './audit.projection';

/**
 * Recomputes every deal's hash chain from the event store and compares it with the stored audit
 * entries, up to the audit projection's checkpoint (later events are not projected yet).
 *
 * The events are read forwards, streaming; the only state kept is the last hash of each deal
 * (O(deals) memory) and one batch of events with their entries.
 */

export type BrokenLinkReason =
  /** The event in the store no longer matches the entry hashed when it was projected. */
  | 'event-altered'
  /** The entry's content no longer matches its own hash, or it is not an audit entry at all. */
  | 'entry-altered'
  /** The event has no audit entry. */
  | 'entry-missing'
  /** The entry does not link to the hash of the deal's previous entry (an entry was removed, reordered or re-linked). */
  | 'broken-link';

export interface BrokenLink {
  readonly dealId: string;
  readonly version: number;
  readonly eventId: string;
  /** Position in the event store, `commit/prepare`. */
  readonly position: string;
  /** The hash recomputed from the event store; null when the stored event no longer reads as a deal event. */
  readonly expectedHash: string | null;
  /** The hash stored in the audit entry; null when there is no entry. */
  readonly storedHash: string | null;
  readonly reason: BrokenLinkReason;
}

export interface AuditVerification {
  readonly ok: boolean;
  /** Events compared with their entries (up to the first broken link). */
  readonly checkedEvents: number;
  readonly checkedDeals: number;
  /** How far the check went: the audit projection's checkpoint; null when nothing is projected yet. */
  readonly checkedUpTo: string | null;
  /** Entries in the log up to the checkpoint that no event accounts for (a deleted event or deal stream, or a forged entry). */
  readonly unexpectedEntries: number;
  /** The first problem in store order; absent when ok. */
  readonly firstBrokenLink?: BrokenLink;
}

export interface VerifyOptions {
  /** Events compared per round trip to the read-model store. Default 500. */
  readonly batchSize?: number;
  readonly reader?: DealEventReader;
}

interface Checked {
  readonly event: StoredDealEvent;
  readonly expectedPrevious: string;
}

export async function verifyAuditChains(
  eventStore: EventStore,
  readModels: ReadModelStore,
  options: VerifyOptions = {},
): Promise<AuditVerification> {
  const checkpoint = await readModels.checkpoint(auditProjectionName);
  if (!checkpoint) return { ok: true, checkedEvents: 0, checkedDeals: 0, checkedUpTo: null, unexpectedEntries: 0 };
  const upTo = checkpoint.position;
  const reader = options.reader ?? new DealEventReader();
  const batchSize = options.batchSize ?? 500;
  const heads = new Map<string, string>();
  let checkedEvents = 0;

  let batch: RecordedEvent[] = [];
  const check = async (): Promise<BrokenLink | undefined> => {
    const recorded = batch;
    batch = [];
    const entries = await readModels.getMany(
      auditCollections.entry,
      recorded.map((event) => entryId(event.position)),
    );
    for (const [index, raw] of recorded.entries()) {
      const event = readable(reader, raw);
      if (!event) return unreadable(raw, entries[index]);
      const expectedPrevious = heads.get(event.dealId) ?? genesisHash;
      const expectedHash = auditHash(expectedPrevious, auditHashFields(event));
      const problem = compare({ event, expectedPrevious }, expectedHash, entries[index]);
      if (problem) return problem;
      heads.set(event.dealId, expectedHash);
      checkedEvents += 1;
    }
    return undefined;
  };

  let firstBrokenLink: BrokenLink | undefined;
  for await (const recorded of eventStore.readAll({ fromPosition: 'start' })) {
    if (comparePositions(recorded.position, upTo) > 0) break;
    if (!recorded.streamId.startsWith(dealStreamPrefix)) continue;
    batch.push(recorded);
    if (batch.length >= batchSize) {
      firstBrokenLink = await check();
      if (firstBrokenLink) break;
    }
  }
  if (!firstBrokenLink && batch.length > 0) firstBrokenLink = await check();

  const base = { checkedEvents, checkedDeals: heads.size, checkedUpTo: formatPosition(upTo) };
  if (firstBrokenLink) return { ok: false, ...base, unexpectedEntries: 0, firstBrokenLink };
  // Every event had its entry; more entries than events means some entry stands for no stored event.
  const indexed = await readModels.count(auditIndexes.all, undefined, positionScore(upTo));
  const unexpectedEntries = Math.max(0, indexed - checkedEvents);
  return { ok: unexpectedEntries === 0, ...base, unexpectedEntries };
}

function readable(reader: DealEventReader, recorded: RecordedEvent): StoredDealEvent | undefined {
  try {
    return reader.read(recorded);
  } catch {
    // An unknown type or schema version, or metadata that is not ours: altered in the store.
    return undefined;
  }
}

function unreadable(recorded: RecordedEvent, stored: JsonObject | undefined): BrokenLink {
  return {
    dealId: dealIdOf(recorded.streamId),
    version: Number(recorded.revision),
    eventId: recorded.id,
    position: formatPosition(recorded.position),
    expectedHash: null,
    storedHash: typeof stored?.['hash'] === 'string' ? stored['hash'] : null,
    reason: 'event-altered',
  };
}

/** Why an event and its stored entry disagree, checked from the entry's own integrity outwards. */
function compare({ event, expectedPrevious }: Checked, expectedHash: string, stored: JsonObject | undefined): BrokenLink | undefined {
  const link = (reason: BrokenLinkReason, storedHash: string | null): BrokenLink => ({
    dealId: event.dealId,
    version: Number(event.revision),
    eventId: event.eventId,
    position: formatPosition(event.position),
    expectedHash,
    storedHash,
    reason,
  });
  if (!stored) return link('entry-missing', null);
  const storedHash = typeof stored['hash'] === 'string' ? stored['hash'] : null;
  const previousHash = stored['previousHash'];
  const fields = hashFieldsOf(stored);
  if (storedHash === null || typeof previousHash !== 'string' || !fields) return link('entry-altered', storedHash);
  // An entry that no longer matches its own hash was edited in the read model.
  if (auditHash(previousHash, fields) !== storedHash) return link('entry-altered', storedHash);
  // Intact in itself, but not chained to the deal's previous entry.
  if (previousHash !== expectedPrevious) return link('broken-link', storedHash);
  // Intact and chained, yet the event hashes differently: the event changed after it was projected.
  if (storedHash !== expectedHash) return link('event-altered', storedHash);
  return undefined;
}

/** The hashed fields of a stored entry, or undefined when it is not shaped like one. */
function hashFieldsOf(entry: JsonObject): AuditHashFields | undefined {
  const text = (key: string): string | undefined => (typeof entry[key] === 'string' ? (entry[key] as string) : undefined);
  const number = (key: string): number | undefined => (typeof entry[key] === 'number' ? (entry[key] as number) : undefined);
  const data = entry['data'];
  const fields = {
    dealId: text('dealId'),
    version: number('version'),
    eventId: text('eventId'),
    type: text('type'),
    schemaVersion: number('schemaVersion'),
    actor: text('actor'),
    occurredAt: text('occurredAt'),
    recordedAt: text('recordedAt'),
    commandId: text('commandId'),
    correlationId: text('correlationId'),
    causationId: text('causationId'),
  };
  if (Object.values(fields).some((value) => value === undefined)) return undefined;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  return { ...(fields as Omit<AuditHashFields, 'data'>), data: data as JsonObject };
}
