import type { StoredDealEvent } from '@deals/deal-streams';
import { formatPosition, type Position } from '@deals/event-store';
import type { ReadModelChange } from '@deals/read-models';
import type { DocumentReader, DocumentRef, Projection } from '../projection';
import { auditHash, type AuditHashFields, auditHashFields, genesisHash } from './audit-hash';

/**
 * The global audit log: one entry per deal event, hash-chained per deal, indexed so that every
 * filter of GET /audit walks a sorted index instead of scanning.
 *
 * Written:
 *   audit:entry            one document per event, id = entryId(position)
 *   audit:head             per deal: the last entry's version and hash, so the next entry links to it
 *   audit:all              every entry                      score = position
 *   audit:actor:<actor>    entries by one actor             score = position
 *   audit:deal:<dealId>    entries of one deal              score = position
 *   audit:type:<type>      entries of one event type        score = position
 *   audit:recordedAt       every entry                      score = recordedAt, ms since the epoch
 *   audit:occurredAt       every entry                      score = occurredAt, ms since the epoch
 *
 * Scores are doubles. A position is a double exactly up to 2^53, far beyond the embedded store's
 * row numbers. Past that (an EventStoreDB log beyond 9 PB) Number() rounds, but rounding is monotone
 * and the index orders equal scores by member, and members are zero-padded positions, so the order
 * stays exact; only score *bounds* (min/max) turn approximate, which is why readers also compare
 * the entry's exact position.
 */

export const auditProjectionName = 'audit';

export const auditCollections = {
  entry: 'audit:entry',
  head: 'audit:head',
} as const;

export const auditIndexes = {
  all: 'audit:all',
  actor: (actor: string) => `audit:actor:${actor}`,
  deal: (dealId: string) => `audit:deal:${dealId}`,
  type: (type: string) => `audit:type:${type}`,
  recordedAt: 'audit:recordedAt',
  occurredAt: 'audit:occurredAt',
} as const;

/** One audit entry: the event, who/when/why, and its link in the deal's hash chain. */
export interface AuditEntry extends AuditHashFields {
  /** Global position in the event store, `commit/prepare`. */
  readonly position: string;
  readonly previousHash: string;
  readonly hash: string;
}

/** The chain head of one deal. */
export interface AuditHead {
  readonly dealId: string;
  readonly version: number;
  readonly hash: string;
  readonly position: string;
}

const positionDigits = 20; // 2^64 - 1 has 20 digits

/** Sorts like the position: zero-padded commit and prepare positions. */
export function entryId(position: Position): string {
  return `${position.commit.toString().padStart(positionDigits, '0')}-${position.prepare.toString().padStart(positionDigits, '0')}`;
}

export function positionScore(position: Position): number {
  return Number(position.commit);
}

/** ms since the epoch; undefined for a time that does not parse (never written by this service). */
export function timeScore(iso: string): number | undefined {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
}

export class AuditProjection implements Projection {
  readonly name = auditProjectionName;

  reads(event: StoredDealEvent): readonly DocumentRef[] {
    return [{ collection: auditCollections.head, id: event.dealId }];
  }

  project(event: StoredDealEvent, documents: DocumentReader): ReadModelChange[] {
    const head = documents.get(auditCollections.head, event.dealId) as AuditHead | undefined;
    const version = Number(event.revision);
    // Delivered again (a replay over an existing chain): linking it twice would fork the chain.
    if (head && head.version >= version) return [];

    const fields = auditHashFields(event);
    const previousHash = head?.hash ?? genesisHash;
    const hash = auditHash(previousHash, fields);
    const id = entryId(event.position);
    const position = formatPosition(event.position);
    const entry: AuditEntry = { position, ...fields, previousHash, hash };
    const newHead: AuditHead = { dealId: event.dealId, version, hash, position };
    const score = positionScore(event.position);

    const changes: ReadModelChange[] = [
      { kind: 'put', collection: auditCollections.entry, id, document: { ...entry } },
      { kind: 'put', collection: auditCollections.head, id: event.dealId, document: { ...newHead } },
      { kind: 'index', index: auditIndexes.all, member: id, score },
      { kind: 'index', index: auditIndexes.actor(fields.actor), member: id, score },
      { kind: 'index', index: auditIndexes.deal(fields.dealId), member: id, score },
      { kind: 'index', index: auditIndexes.type(fields.type), member: id, score },
    ];
    // A time that does not parse cannot be placed on a time axis; the entry is still in every other index.
    const recorded = timeScore(fields.recordedAt);
    if (recorded !== undefined) changes.push({ kind: 'index', index: auditIndexes.recordedAt, member: id, score: recorded });
    const occurred = timeScore(fields.occurredAt);
    if (occurred !== undefined) changes.push({ kind: 'index', index: auditIndexes.occurredAt, member: id, score: occurred });
    return changes;
  }
}

export const auditProjection = new AuditProjection();
