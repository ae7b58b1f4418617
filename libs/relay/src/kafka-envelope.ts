/**
 * The Kafka message of a deal event: one schema for the relay that writes it and the consumers that
 * read it. See docs/kafka.md.
 *
 * Key: the deal id, so that one deal's events land in one partition, in order.
 * Value: the envelope below as UTF-8 JSON. It is complete by itself: a consumer that ignores headers
 * loses nothing.
 * Headers: the CloudEvents Kafka protocol binding, binary content mode (`ce_` attributes, the value is
 * the event's data, here the envelope), so that routers and tools can filter on id, type and subject
 * without parsing the value.
 */
import { currentSchemaVersions, type DealEventType } from '@deals/domain';
import type { StoredDealEvent } from '@deals/deal-streams';
import { formatPosition } from '@deals/event-store';

/** Bumped only when a field is removed, renamed or changes meaning; added optional fields keep it. */
export const envelopeVersion = 1;

export const ceSpecVersion = '1.0';
/** The CloudEvents `source` of every deal event (with `id`, it names an event uniquely). */
export const ceSource = 'urn:deals:deal-lifecycle';
/** The CloudEvents `dataschema`: names the envelope version. */
export const envelopeSchema = `urn:deals:kafka-envelope:v${envelopeVersion}`;
export const envelopeContentType = 'application/json';

/** Header names (the CloudEvents Kafka binding spells them `ce_<attribute>`, lower case). */
export const kafkaHeaders = {
  specVersion: 'ce_specversion',
  id: 'ce_id',
  source: 'ce_source',
  type: 'ce_type',
  subject: 'ce_subject',
  time: 'ce_time',
  dataSchema: 'ce_dataschema',
  /** Extension attribute: the schema version of `data`. */
  schemaVersion: 'ce_schemaversion',
  contentType: 'content-type',
} as const;

export type JsonObject = { readonly [key: string]: unknown };

export interface DealEventEnvelope {
  readonly envelopeVersion: number;
  /** The event id (a UUID): the same on every redelivery; deduplicate by it. */
  readonly eventId: string;
  /** LeadCaptured, Qualified, ProposalSent, Negotiated, Closed, FollowedUp (more may be added). */
  readonly type: string;
  /** Version of `data`'s schema for `type`. The relay publishes today's schema (upcast). */
  readonly schemaVersion: number;
  readonly dealId: string;
  /** Revision of the event in its deal's stream, from 0, as a decimal string (a 64-bit integer). */
  readonly streamRevision: string;
  /** Place in the store's global order, `commit/prepare` as decimal strings; increases with each event. */
  readonly globalPosition: string;
  /** Business time (ISO 8601); may be backdated for imported history. */
  readonly occurredAt: string;
  /** When the service stored the event (ISO 8601). */
  readonly recordedAt: string;
  readonly data: JsonObject;
  /** actor, commandId, correlationId, causationId and, when present, requestHash. */
  readonly metadata: JsonObject;
}

export interface KafkaRelayMessage {
  readonly key: string;
  readonly value: string;
  readonly headers: Record<string, string>;
}

/** What a consumer gets from kafkajs (EachMessagePayload.message) or any other client. */
export interface IncomingKafkaMessage {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers?: { readonly [name: string]: Buffer | string | ReadonlyArray<Buffer | string> | undefined };
}

export class InvalidEnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEnvelopeError';
  }
}

/** Metadata fields promoted to the envelope's top level. */
const promoted = new Set(['schemaVersion', 'occurredAt', 'recordedAt']);

export function toEnvelope(stored: StoredDealEvent): DealEventEnvelope {
  const metadata: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(stored.metadata)) if (!promoted.has(name)) metadata[name] = value;
  const type = stored.event.type as DealEventType;
  return {
    envelopeVersion,
    eventId: stored.eventId,
    type,
    schemaVersion: currentSchemaVersions[type],
    dealId: stored.dealId,
    streamRevision: stored.revision.toString(),
    globalPosition: formatPosition(stored.position),
    occurredAt: stored.event.occurredAt,
    recordedAt: stored.metadata.recordedAt,
    data: { ...stored.event.data },
    metadata,
  };
}

export function toKafkaMessage(stored: StoredDealEvent): KafkaRelayMessage {
  const envelope = toEnvelope(stored);
  return {
    key: envelope.dealId,
    value: JSON.stringify(envelope),
    headers: {
      [kafkaHeaders.specVersion]: ceSpecVersion,
      [kafkaHeaders.id]: envelope.eventId,
      [kafkaHeaders.source]: ceSource,
      [kafkaHeaders.type]: envelope.type,
      [kafkaHeaders.subject]: envelope.dealId,
      [kafkaHeaders.time]: envelope.occurredAt,
      [kafkaHeaders.dataSchema]: envelopeSchema,
      [kafkaHeaders.schemaVersion]: String(envelope.schemaVersion),
      [kafkaHeaders.contentType]: envelopeContentType,
    },
  };
}

/**
 * Parses and validates a message written by the relay. Throws InvalidEnvelopeError for anything else:
 * not JSON, a missing or mistyped field, an envelope version this build does not read, or a key or
 * header that disagrees with the value. Unknown extra fields are ignored (they are how the envelope
 * grows without a new version).
 */
export function fromKafkaMessage(message: IncomingKafkaMessage): DealEventEnvelope {
  if (message.value === null || message.value === undefined) throw new InvalidEnvelopeError('The message has no value (a tombstone?)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text(message.value));
  } catch (error) {
    throw new InvalidEnvelopeError(`The value is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isObject(parsed)) throw new InvalidEnvelopeError('The value is not a JSON object');
  const version = parsed['envelopeVersion'];
  if (version !== envelopeVersion) throw new InvalidEnvelopeError(`Envelope version ${JSON.stringify(version)}; this build reads ${envelopeVersion}`);

  const envelope: DealEventEnvelope = {
    envelopeVersion,
    eventId: field(parsed, 'eventId', isNonEmptyString),
    type: field(parsed, 'type', isNonEmptyString),
    schemaVersion: field(parsed, 'schemaVersion', (value): value is number => Number.isSafeInteger(value) && (value as number) >= 1),
    dealId: field(parsed, 'dealId', isNonEmptyString),
    streamRevision: field(parsed, 'streamRevision', (value): value is string => typeof value === 'string' && /^(0|[1-9]\d*)$/.test(value)),
    globalPosition: field(parsed, 'globalPosition', (value): value is string => typeof value === 'string' && /^(0|[1-9]\d*)\/(0|[1-9]\d*)$/.test(value)),
    occurredAt: field(parsed, 'occurredAt', isTimestamp),
    recordedAt: field(parsed, 'recordedAt', isTimestamp),
    data: field(parsed, 'data', isObject),
    metadata: field(parsed, 'metadata', isObject),
  };

  if (message.key !== null && message.key !== undefined && text(message.key) !== envelope.dealId) {
    throw new InvalidEnvelopeError(`The key ${JSON.stringify(text(message.key))} is not the deal id ${envelope.dealId}`);
  }
  const headers = message.headers ?? {};
  for (const [name, expected] of [
    [kafkaHeaders.id, envelope.eventId],
    [kafkaHeaders.type, envelope.type],
    [kafkaHeaders.subject, envelope.dealId],
  ] as const) {
    const value = header(headers, name);
    if (value !== undefined && value !== expected) throw new InvalidEnvelopeError(`Header ${name} is ${JSON.stringify(value)}, the value says ${JSON.stringify(expected)}`);
  }
  return envelope;
}

/** The stream revision and global position as bigints (they can exceed 2^53). */
export function envelopeOrder(envelope: DealEventEnvelope): { readonly streamRevision: bigint; readonly commit: bigint; readonly prepare: bigint } {
  const [commit, prepare] = envelope.globalPosition.split('/') as [string, string];
  return { streamRevision: BigInt(envelope.streamRevision), commit: BigInt(commit), prepare: BigInt(prepare) };
}

/** A header's value as text; the last one when a header repeats. */
export function header(headers: NonNullable<IncomingKafkaMessage['headers']>, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    const last = (value as ReadonlyArray<Buffer | string>)[value.length - 1];
    return last === undefined ? undefined : text(last);
  }
  return text(value as Buffer | string);
}

function text(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('utf8');
}

function field<T>(object: Record<string, unknown>, name: string, check: (value: unknown) => value is T): T {
  const value = object[name];
  if (!check(value)) throw new InvalidEnvelopeError(`Field ${name} is missing or invalid: ${JSON.stringify(value)}`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isTimestamp(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value));
}
