import { createHash } from 'node:crypto';
import type { StoredDealEvent } from '@deals/deal-streams';
import type { JsonObject } from '@deals/read-models';

/**
 * The audit hash chain. Each deal's audit entries form a chain: an entry's hash covers its event
 * (payload and audit-relevant metadata) and the hash of the deal's previous entry, so changing,
 * removing or reordering any entry breaks every link after it.
 *
 * The recipe, written out for an outside auditor in docs/audit.md:
 *
 *   hash = lowercase hex of SHA-256( UTF-8( canonicalJson({ ...fields, previousHash }) ) )
 *
 * where `fields` are exactly the members of `AuditHashFields` and canonicalJson is RFC 8785 (JCS):
 * object keys sorted by UTF-16 code units, no whitespace, numbers and strings as ECMAScript's
 * JSON.stringify writes them. The first entry of a deal links to `genesisHash` (64 zeros).
 */

export const genesisHash = '0'.repeat(64);

/** What an entry's hash covers besides the previous hash. The store position is left out on purpose: it changes when events move to another store. */
export interface AuditHashFields {
  readonly dealId: string;
  /** Stream revision of the event, from 0. */
  readonly version: number;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly actor: string;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly commandId: string;
  readonly correlationId: string;
  readonly causationId: string;
  readonly data: JsonObject;
}

/** The fields of a stored event, as the projection and the verifier both read it (upcast to today's schema). */
export function auditHashFields(stored: StoredDealEvent): AuditHashFields {
  const { metadata } = stored;
  return {
    dealId: stored.dealId,
    version: Number(stored.revision),
    eventId: stored.eventId,
    type: stored.event.type,
    schemaVersion: metadata.schemaVersion,
    actor: metadata.actor,
    occurredAt: metadata.occurredAt,
    recordedAt: metadata.recordedAt,
    commandId: metadata.commandId,
    correlationId: metadata.correlationId,
    causationId: metadata.causationId,
    // As written, not as upcast: a later schema change must not look like tampering.
    data: stored.storedData,
  };
}

/**
 * The members an entry's hash covers, in JCS order (UTF-16 code units), each with its JSON name and
 * colon: the preimage is written in this fixed order instead of sorting thirteen keys per event.
 */
const coveredMembers = (
  ['actor', 'causationId', 'commandId', 'correlationId', 'data', 'dealId', 'eventId', 'occurredAt', 'previousHash', 'recordedAt', 'schemaVersion', 'type', 'version'] as const
).map((key) => ({ key, prefix: `${JSON.stringify(key)}:` }));

/** The exact text that is hashed: one canonical JSON object, the previous hash among its members. */
export function auditHashPreimage(previousHash: string, fields: AuditHashFields): string {
  // Member by member, so an object carrying extra members (a stored entry) hashes the same as its fields.
  let text = '';
  for (const { key, prefix } of coveredMembers) {
    const value = key === 'previousHash' ? previousHash : fields[key];
    // Left out when undefined, as canonicalJson leaves out such a member.
    if (value !== undefined) text += `${text === '' ? '{' : ','}${prefix}${canonicalJson(value)}`;
  }
  return text === '' ? '{}' : `${text}}`;
}

export function auditHash(previousHash: string, fields: AuditHashFields): string {
  return createHash('sha256').update(auditHashPreimage(previousHash, fields), 'utf8').digest('hex');
}

/**
 * RFC 8785 (JSON Canonicalization Scheme) for JSON values: sorted keys, no whitespace. JSON.stringify
 * already writes numbers and strings as JCS wants them; only key order and spacing need care.
 * Values JSON cannot hold are refused rather than silently changed, so a hash never covers a guess.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string' || value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a JSON number`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let text = '';
    for (let i = 0; i < value.length; i++) text += `${i === 0 ? '' : ','}${canonicalJson(value[i])}`;
    return `[${text}]`;
  }
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is the order JCS prescribes.
    const keys = Object.keys(record).sort();
    let text = '';
    for (const key of keys) {
      const member = record[key];
      if (member !== undefined) text += `${text === '' ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
    }
    return `{${text}}`;
  }
  throw new TypeError(`canonicalJson: a ${typeof value} is not a JSON value`);
}
