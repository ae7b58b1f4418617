/**
 * DealEventConsumer against a real Kafka broker (KAFKA_BROKERS, default 127.0.0.1:9092; start one with
 * `infra/kafka/kafka.sh start`). A fresh topic, dead-letter topic and group per test. Skipped when the
 * Jest global setup found no broker on a developer's machine (CI fails instead).
 */
import { randomUUID } from 'node:crypto';
import { eventually } from '@deals/platform/testing';
import type { Admin, KafkaMessage, Message } from 'kafkajs';
import { brokerSkipped, connectTestAdmin, describeWithBroker, testKafka } from '../testing/test-broker';
import { type DealEventEnvelope, kafkaHeaders } from '../kafka-envelope';
import { deadLetterTopic, DealEventConsumer, type DealEventConsumerOptions, dlqHeaders } from './deal-event-consumer';

jest.setTimeout(20_000);

const partitions = 3;
const kafka = testKafka('consumer-int-test');

let admin: Admin;
let cleanups: Array<() => Promise<void>>;

beforeAll(async () => {
  if (!brokerSkipped) admin = await connectTestAdmin(kafka);
});

afterAll(async () => {
  await admin?.disconnect();
});

beforeEach(() => {
  cleanups = [];
});

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A fresh topic and its dead-letter topic. */
async function freshTopic(): Promise<string> {
  const topic = `consumer-test-${randomUUID()}`;
  const topics = [topic, deadLetterTopic(topic)];
  await admin.createTopics({ topics: topics.map((name) => ({ topic: name, numPartitions: partitions })), waitForLeaders: true });
  cleanups.push(() => admin.deleteTopics({ topics }).catch(() => undefined));
  return topic;
}

async function publish(topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

function event(dealId: string, revision: number): DealEventEnvelope {
  return {
    envelopeVersion: 1,
    eventId: randomUUID(),
    type: 'Negotiated',
    schemaVersion: 1,
    dealId,
    streamRevision: String(revision),
    globalPosition: `${revision}/${revision}`,
    occurredAt: '2025-03-04T09:00:00.000Z',
    recordedAt: '2025-03-04T09:00:01.000Z',
    data: { round: revision },
    metadata: { actor: 'alice' },
  };
}

function toMessage(envelope: DealEventEnvelope): Message {
  return {
    key: envelope.dealId,
    value: JSON.stringify(envelope),
    headers: { [kafkaHeaders.id]: envelope.eventId, [kafkaHeaders.type]: envelope.type, [kafkaHeaders.subject]: envelope.dealId },
  };
}

/** `perDeal` events for each of `deals` deals, interleaved across deals, each deal's in revision order. */
function history(deals: number, perDeal: number): DealEventEnvelope[] {
  const ids = Array.from({ length: deals }, () => randomUUID());
  const events: DealEventEnvelope[] = [];
  for (let revision = 0; revision < perDeal; revision += 1) for (const dealId of ids) events.push(event(dealId, revision));
  return events;
}

async function start(topic: string, handle: (envelope: DealEventEnvelope) => Promise<void>, options: DealEventConsumerOptions = {}): Promise<DealEventConsumer> {
  const consumer = new DealEventConsumer(kafka, {
    retry: { attempts: 3, initialDelayMs: 10, maxDelayMs: 50 },
    log: () => undefined,
    consumerConfig: { maxWaitTimeInMs: 100 },
    ...options,
  });
  cleanups.push(() => consumer.stop());
  await consumer.run({ topic, groupId: `consumer-test-${randomUUID()}`, handle });
  return consumer;
}

/** Kafka's rebalances and retries take seconds. */
const until = (check: () => boolean, what: () => string) => eventually(check, what, { timeoutMs: 12_000, everyMs: 25 });

/** Every message of the dead-letter topic, read from its start by a fresh group. */
async function readDeadLetters(topic: string, expected: number): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: `consumer-test-dlq-${randomUUID()}`, maxWaitTimeInMs: 100 });
  cleanups.push(() => consumer.disconnect());
  await consumer.connect();
  await consumer.subscribe({ topic: deadLetterTopic(topic), fromBeginning: true });
  const received: KafkaMessage[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void received.push(message) });
  await until(
    () => received.length >= expected,
    () => `${received.length} of ${expected} dead letters`,
  );
  return received;
}

function expectDealOrder(handled: readonly DealEventEnvelope[], events: readonly DealEventEnvelope[]): void {
  const byDeal = (list: readonly DealEventEnvelope[]) => {
    const deals = new Map<string, string[]>();
    for (const envelope of list) deals.set(envelope.dealId, [...(deals.get(envelope.dealId) ?? []), envelope.eventId]);
    return deals;
  };
  expect(byDeal(handled)).toEqual(byDeal(events));
}

const text = (value: Buffer | string | (Buffer | string)[] | undefined | null) => (value === undefined || value === null ? undefined : String(value));

describeWithBroker('DealEventConsumer against a real broker', () => {
  it('handles each event once when it is published twice, in order per deal', async () => {
    const topic = await freshTopic();
    const events = history(6, 5);
    await publish(topic, events.map(toMessage));
    await publish(topic, events.map(toMessage));
    const handled: DealEventEnvelope[] = [];
    const consumer = await start(topic, async (envelope) => void handled.push(envelope));
    await until(
      () => consumer.stats().handled + consumer.stats().duplicates >= events.length * 2,
      () => JSON.stringify(consumer.stats()),
    );
    expect(handled).toHaveLength(events.length);
    expect(consumer.stats()).toEqual({ handled: events.length, duplicates: events.length, retries: 0, deadLettered: 0 });
    expectDealOrder(handled, events);
  });

  it('retries a handler that fails twice, handles the event once, and keeps its deal in order', async () => {
    const topic = await freshTopic();
    const events = history(3, 4);
    const flaky = events[4]!; // a deal's second event
    await publish(topic, events.map(toMessage));
    const handled: DealEventEnvelope[] = [];
    let failures = 0;
    const consumer = await start(topic, async (envelope) => {
      if (envelope.eventId === flaky.eventId && failures < 2) {
        failures += 1;
        throw new Error(`flaky ${failures}`);
      }
      handled.push(envelope);
    });
    await until(
      () => handled.length >= events.length,
      () => JSON.stringify(consumer.stats()),
    );
    expect(failures).toBe(2);
    expect(handled.filter((envelope) => envelope.eventId === flaky.eventId)).toHaveLength(1);
    expect(consumer.stats()).toEqual({ handled: events.length, duplicates: 0, retries: 2, deadLettered: 0 });
    expectDealOrder(handled, events);
  });

  it('dead-letters a poison message and an event its handler always fails, with the reason, and handles later messages', async () => {
    const topic = await freshTopic();
    const dealId = randomUUID();
    const [failing, after1, after2] = [event(dealId, 0), event(dealId, 1), event(dealId, 2)];
    const poison: Message = { key: dealId, value: '{"envelopeVersion":1,"eventId":', headers: { trace: 'poison-1' } };
    await publish(topic, [poison, toMessage(failing), toMessage(after1), toMessage(after2)]);
    const handled: string[] = [];
    const consumer = await start(topic, async (envelope) => {
      if (envelope.eventId === failing.eventId) throw new Error('cannot handle this one');
      handled.push(envelope.eventId);
    });
    await until(
      () => handled.length >= 2,
      () => JSON.stringify(consumer.stats()),
    );
    expect(handled).toEqual([after1.eventId, after2.eventId]);
    expect(consumer.stats()).toMatchObject({ handled: 2, deadLettered: 2, retries: 2 });

    const dead = await readDeadLetters(topic, 2);
    expect(dead).toHaveLength(2);
    const [poisoned, failed] = dead.sort((a, b) => Number(text(a.headers?.[dlqHeaders.offset])) - Number(text(b.headers?.[dlqHeaders.offset])));
    expect(text(poisoned!.key)).toBe(dealId);
    expect(text(poisoned!.value)).toBe(poison.value);
    expect(text(poisoned!.headers!['trace'])).toBe('poison-1');
    expect(text(poisoned!.headers![dlqHeaders.reason])).toBe('invalid-envelope');
    expect(text(poisoned!.headers![dlqHeaders.error])).toMatch(/not JSON/);
    expect(text(poisoned!.headers![dlqHeaders.topic])).toBe(topic);
    expect(text(failed!.value)).toBe(JSON.stringify(failing));
    expect(text(failed!.headers![kafkaHeaders.id])).toBe(failing.eventId);
    expect(text(failed!.headers![dlqHeaders.reason])).toBe('handler-failed');
    expect(text(failed!.headers![dlqHeaders.error])).toBe('cannot handle this one');
    expect(text(failed!.headers![dlqHeaders.attempts])).toBe('3');
  });
});
