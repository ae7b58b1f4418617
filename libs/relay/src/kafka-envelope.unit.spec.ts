import type { StoredDealEvent } from '@deals/deal-streams';
import type { DealEvent } from '@deals/domain';
import {
  ceSource,
  envelopeOrder,
  envelopeSchema,
  fromKafkaMessage,
  InvalidEnvelopeError,
  kafkaHeaders,
  type KafkaRelayMessage,
  toEnvelope,
  toKafkaMessage,
} from './kafka-envelope';

const dealId = '3f0c2b1e-8a51-4a8e-9a34-0c1d2e3f4a5b';
const eventId = '7d9e4f10-2b3c-4d5e-8f60-718293a4b5c6';

function stored(overrides: Partial<StoredDealEvent> = {}): StoredDealEvent {
  const event = {
    type: 'Negotiated',
    occurredAt: '2025-03-04T09:00:00.000Z',
    data: { round: 2, objections: ['price'], counterAmount: { amount: 1_234.5, currency: 'EUR' } },
  } as DealEvent;
  return {
    eventId,
    dealId,
    revision: 5n,
    position: { commit: 42n, prepare: 42n },
    event,
    storedData: { ...event.data },
    metadata: {
      schemaVersion: 1,
      actor: 'alice',
      commandId: 'c-1',
      correlationId: 'corr-1',
      causationId: 'cause-1',
      occurredAt: event.occurredAt,
      recordedAt: '2025-03-04T09:00:01.250Z',
      requestHash: 'abc',
    },
    ...overrides,
  };
}

/** What kafkajs hands a consumer: key, value and header values as Buffers. */
function asReceived(message: KafkaRelayMessage) {
  return {
    key: Buffer.from(message.key),
    value: Buffer.from(message.value),
    headers: Object.fromEntries(Object.entries(message.headers).map(([name, value]) => [name, Buffer.from(value)])),
  };
}

describe('Kafka envelope', () => {
  it('carries every field, keyed by deal id', () => {
    const message = toKafkaMessage(stored());
    expect(message.key).toBe(dealId);
    expect(JSON.parse(message.value)).toEqual({
      envelopeVersion: 1,
      eventId,
      type: 'Negotiated',
      schemaVersion: 1,
      dealId,
      streamRevision: '5',
      globalPosition: '42/42',
      occurredAt: '2025-03-04T09:00:00.000Z',
      recordedAt: '2025-03-04T09:00:01.250Z',
      data: { round: 2, objections: ['price'], counterAmount: { amount: 1_234.5, currency: 'EUR' } },
      metadata: { actor: 'alice', commandId: 'c-1', correlationId: 'corr-1', causationId: 'cause-1', requestHash: 'abc' },
    });
  });

  it('sets the CloudEvents Kafka binding headers (binary content mode)', () => {
    expect(toKafkaMessage(stored()).headers).toEqual({
      ce_specversion: '1.0',
      ce_id: eventId,
      ce_source: ceSource,
      ce_type: 'Negotiated',
      ce_subject: dealId,
      ce_time: '2025-03-04T09:00:00.000Z',
      ce_dataschema: envelopeSchema,
      ce_schemaversion: '1',
      'content-type': 'application/json',
    });
    expect(Object.values(kafkaHeaders).sort()).toEqual(Object.keys(toKafkaMessage(stored()).headers).sort());
  });

  it('round-trips through the bytes a consumer receives', () => {
    const message = toKafkaMessage(stored());
    expect(fromKafkaMessage(asReceived(message))).toEqual(toEnvelope(stored()));
    expect(fromKafkaMessage(message)).toEqual(toEnvelope(stored()));
  });

  it('keeps revisions and positions beyond 2^53 exact', () => {
    const big = 2n ** 63n - 1n;
    const revision = 2n ** 53n + 1n;
    const envelope = fromKafkaMessage(asReceived(toKafkaMessage(stored({ revision, position: { commit: big, prepare: big - 7n } }))));
    expect(envelope.streamRevision).toBe('9007199254740993');
    expect(envelope.globalPosition).toBe(`${big}/${big - 7n}`);
    expect(envelopeOrder(envelope)).toEqual({ streamRevision: revision, commit: big, prepare: big - 7n });
  });

  it('ignores fields it does not know (how the envelope grows without a new version)', () => {
    const message = toKafkaMessage(stored());
    const value = JSON.stringify({ ...JSON.parse(message.value), addedLater: true });
    expect(fromKafkaMessage({ ...message, value }).eventId).toBe(eventId);
  });

  describe('rejects', () => {
    const valid = () => JSON.parse(toKafkaMessage(stored()).value) as Record<string, unknown>;
    const cases: Array<[string, () => { key?: string | null; value: string | null; headers?: Record<string, string> }]> = [
      ['a tombstone', () => ({ key: dealId, value: null })],
      ['a value that is not JSON', () => ({ value: '{not json' })],
      ['a JSON array', () => ({ value: '[]' })],
      ['an unknown envelope version', () => ({ value: JSON.stringify({ ...valid(), envelopeVersion: 2 }) })],
      ['a missing event id', () => ({ value: JSON.stringify({ ...valid(), eventId: undefined }) })],
      ['a numeric revision', () => ({ value: JSON.stringify({ ...valid(), streamRevision: 5 }) })],
      ['a negative revision', () => ({ value: JSON.stringify({ ...valid(), streamRevision: '-1' }) })],
      ['a malformed position', () => ({ value: JSON.stringify({ ...valid(), globalPosition: '42' }) })],
      ['a schema version of 0', () => ({ value: JSON.stringify({ ...valid(), schemaVersion: 0 }) })],
      ['a bad timestamp', () => ({ value: JSON.stringify({ ...valid(), occurredAt: 'yesterday' }) })],
      ['data that is not an object', () => ({ value: JSON.stringify({ ...valid(), data: 'x' }) })],
      ['missing metadata', () => ({ value: JSON.stringify({ ...valid(), metadata: undefined }) })],
      ['a key that is not the deal id', () => ({ key: 'other-deal', value: JSON.stringify(valid()) })],
      ['a ce_id header that disagrees', () => ({ value: JSON.stringify(valid()), headers: { ce_id: 'another' } })],
      ['a ce_type header that disagrees', () => ({ value: JSON.stringify(valid()), headers: { ce_type: 'Closed' } })],
      ['JSON nested a million levels deep', () => ({ value: '['.repeat(1_000_000) + ']'.repeat(1_000_000) })],
      ['a 5 MB value that is no envelope', () => ({ value: JSON.stringify({ envelopeVersion: 1, filler: 'a'.repeat(5_000_000) }) })],
      ['an envelope whose fields hide behind __proto__', () => ({ value: `{"__proto__":${JSON.stringify(valid())}}` })],
    ];
    it.each(cases)('%s', (_, message) => {
      expect(() => fromKafkaMessage(message())).toThrow(InvalidEnvelopeError);
      expect(({} as Record<string, unknown>)['eventId']).toBeUndefined();
    });
  });
});
