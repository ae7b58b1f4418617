/** Reading back what the relay published, and the checks the broker suites share. */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { type DealEventEnvelope, fromKafkaMessage } from '../kafka-envelope';

export interface Received {
  readonly partition: number;
  readonly envelope: DealEventEnvelope;
  readonly value: string;
}

/**
 * Reads the topic from the beginning with a fresh group until `expected` distinct events, and at least
 * `messages` messages in all (repeats included), arrived.
 */
export async function consumeTopic(kafka: Kafka, topic: string, expected: number, timeoutMs = 20_000, messages = 0): Promise<Received[]> {
  const consumer = kafka.consumer({ groupId: `relay-test-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: Received[] = [];
    const ids = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${ids.size} of ${expected} events arrived within ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const envelope = fromKafkaMessage(message);
            received.push({ partition, envelope, value: String(message.value) });
            ids.add(envelope.eventId);
            if (ids.size >= expected && received.length >= messages) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    return received;
  } finally {
    await consumer.disconnect();
  }
}

/** Each deal's envelopes in the order they arrived; asserts a deal never spans two partitions. */
export function byDeal(received: readonly Received[]): Map<string, DealEventEnvelope[]> {
  const deals = new Map<string, DealEventEnvelope[]>();
  const partitionOf = new Map<string, number>();
  for (const { partition, envelope } of received) {
    expect(partitionOf.get(envelope.dealId) ?? partition).toBe(partition);
    partitionOf.set(envelope.dealId, partition);
    const list = deals.get(envelope.dealId) ?? [];
    list.push(envelope);
    deals.set(envelope.dealId, list);
  }
  return deals;
}

/** Every event of `history` exactly once, in its deal's order. */
export function expectExactlyInOrder(received: readonly Received[], history: ReadonlyMap<string, readonly string[]>): void {
  const deals = byDeal(received);
  expect([...deals.keys()].sort()).toEqual([...history.keys()].sort());
  for (const [dealId, ids] of history) {
    const envelopes = deals.get(dealId)!;
    expect(envelopes.map((envelope) => envelope.eventId)).toEqual(ids);
    expect(envelopes.map((envelope) => envelope.streamRevision)).toEqual(ids.map((_, revision) => String(revision)));
  }
}

/** Splits deliveries into each event's first and the repeats after it. */
export function firstsAndRepeats(received: readonly Received[]): { firsts: Map<string, Received>; repeats: Received[] } {
  const firsts = new Map<string, Received>();
  for (const message of received) if (!firsts.has(message.envelope.eventId)) firsts.set(message.envelope.eventId, message);
  return { firsts, repeats: received.filter((message) => firsts.get(message.envelope.eventId) !== message) };
}

export function count(history: ReadonlyMap<string, readonly string[]>): number {
  return [...history.values()].reduce((sum, ids) => sum + ids.length, 0);
}
