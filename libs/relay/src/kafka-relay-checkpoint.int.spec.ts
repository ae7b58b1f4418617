/**
 * The relay's checkpoint discipline with a stand-in producer whose sends the test resolves or fails:
 * the checkpoint moves only after an acknowledgement. (kafka-relay.int.spec.ts runs against a broker.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EmbeddedEventStore, formatPosition } from '@deals/event-store';
import { EmbeddedReadModelStore } from '@deals/read-models';
import type { Kafka, ProducerConfig, ProducerRecord } from 'kafkajs';
import { fromKafkaMessage } from './kafka-envelope';
import { KafkaRelay } from './kafka-relay';
import { ReadModelRelayCheckpointStore, type RelayCheckpointStore } from './relay-checkpoint-store';
import { writeDeals } from './testing/relay-events';

interface PendingSend {
  readonly record: ProducerRecord;
  readonly ack: () => void;
  readonly fail: (error: Error) => void;
}

/** A Kafka whose producer hands each send to the test. */
class FakeKafka {
  config: ProducerConfig | undefined;
  readonly sends: PendingSend[] = [];
  private waiting: Array<() => void> = [];
  connected = false;

  asKafka(): Kafka {
    return this as unknown as Kafka;
  }

  /** Producers created so far. */
  producers = 0;
  /** Connects to refuse before one succeeds. */
  refuseConnects = 0;

  producer(config: ProducerConfig) {
    this.config = config;
    this.producers += 1;
    return {
      connect: async () => {
        if (this.refuseConnects > 0) {
          this.refuseConnects -= 1;
          throw new Error('Connection error: connect ECONNREFUSED');
        }
        this.connected = true;
      },
      disconnect: async () => void (this.connected = false),
      send: (record: ProducerRecord) =>
        new Promise((resolve, reject) => {
          this.sends.push({ record, ack: () => resolve([]), fail: reject });
          for (const wake of this.waiting.splice(0)) wake();
        }),
    };
  }

  async nextSend(index: number): Promise<PendingSend> {
    while (this.sends.length <= index) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.sends[index]!;
  }
}

let dir: string;
let events: EmbeddedEventStore;
let readModels: EmbeddedReadModelStore;
let checkpoints: ReadModelRelayCheckpointStore;
let relays: KafkaRelay[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-relay-checkpoint-'));
  events = EmbeddedEventStore.open({ path: path.join(dir, 'events.sqlite'), pollIntervalMs: 20 });
  readModels = EmbeddedReadModelStore.open(path.join(dir, 'read-models.sqlite'));
  checkpoints = ReadModelRelayCheckpointStore.forTopic(readModels, 'deals');
  relays = [];
});

afterEach(async () => {
  for (const relay of relays) await relay.stop();
  await readModels.close();
  await events.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function relay(kafka: FakeKafka, batchSize: number, store: RelayCheckpointStore = checkpoints): KafkaRelay {
  const created = new KafkaRelay(events, kafka.asKafka(), store, { topic: 'deals', batchSize, stopTimeoutMs: 200, retryInitialDelayMs: 10, log: () => {} });
  relays.push(created);
  return created;
}

describe('KafkaRelay checkpoint', () => {
  it('uses an idempotent producer and sends keyed envelopes with acks=all', async () => {
    const history = await writeDeals(events, 2, 3);
    const kafka = new FakeKafka();
    relay(kafka, 10).start();
    const send = await kafka.nextSend(0);
    expect(kafka.config).toMatchObject({ idempotent: true, maxInFlightRequests: 1 });
    expect(kafka.config!.maxInFlightRequests).toBeLessThanOrEqual(5);
    expect(send.record).toMatchObject({ topic: 'deals', acks: -1 });
    const sent = send.record.messages.map((message) => ({ key: String(message.key), envelope: fromKafkaMessage({ key: message.key ?? null, value: message.value ?? null }) }));
    expect(sent).toHaveLength(6);
    for (const { key, envelope } of sent) expect(key).toBe(envelope.dealId);
    expect(new Set(sent.map(({ envelope }) => envelope.eventId))).toEqual(new Set([...history.values()].flat()));
    send.ack();
  });

  it('moves the checkpoint only once the send resolved', async () => {
    await writeDeals(events, 1, 5);
    const kafka = new FakeKafka();
    const running = relay(kafka, 2);
    running.start();
    const first = await kafka.nextSend(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await checkpoints.load()).toBeUndefined();
    expect(kafka.sends).toHaveLength(1);
    first.ack();
    await running.waitForPublished(2);
    const second = await kafka.nextSend(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await checkpoints.load())!.eventsProcessed).toBe(2);
    second.ack();
    await running.waitForPublished(4);
  });

  it('stop() gives up a send that is never acknowledged, leaving the checkpoint before it', async () => {
    await writeDeals(events, 1, 4);
    const kafka = new FakeKafka();
    const running = relay(kafka, 2);
    running.start();
    (await kafka.nextSend(0)).ack();
    await kafka.nextSend(1);
    const started = Date.now();
    await running.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await running.status()).toMatchObject({ eventsPublished: 2, running: false });
    expect((await running.status()).error).toBeUndefined();
    expect(kafka.connected).toBe(false);
  });

  it('after a failed send, resumes from its checkpoint with a new producer: the unacknowledged batch goes out again', async () => {
    const history = await writeDeals(events, 1, 6);
    const ids = [...history.values()].flat();
    const kafka = new FakeKafka();
    const running = relay(kafka, 3);
    running.start();
    (await kafka.nextSend(0)).ack();
    (await kafka.nextSend(1)).fail(new Error('broker gone'));
    const resent = await kafka.nextSend(2);
    expect(kafka.producers).toBe(2);
    expect(resent.record.messages.map((message) => fromKafkaMessage({ value: message.value ?? null }).eventId)).toEqual(ids.slice(3));
    expect(await running.status()).toMatchObject({ eventsPublished: 3, lagEvents: 3, caughtUp: false, running: true, lastFailure: expect.stringContaining('broker gone') });
    resent.ack();
    await running.waitForPublished(6);
    const status = await running.status();
    expect(status).toMatchObject({ lagEvents: 0, lagMs: 0, caughtUp: true });
    expect(status.lastFailure).toBeUndefined();
    expect(status.error).toBeUndefined();
    expect(status.position).toBe(formatPosition((await events.readAll({ direction: 'backwards', maxCount: 1 })[Symbol.asyncIterator]().next()).value.position));
  });

  it('keeps trying to connect while the broker is away, and publishes once it answers', async () => {
    await writeDeals(events, 1, 2);
    const kafka = new FakeKafka();
    kafka.refuseConnects = 3;
    const running = relay(kafka, 10);
    running.start();
    (await kafka.nextSend(0)).ack();
    await running.waitForPublished(2);
    expect(kafka.producers).toBe(4);
  });

  it('stops with the error, keeping its checkpoint, when the checkpoint cannot be stored', async () => {
    await writeDeals(events, 1, 4);
    const kafka = new FakeKafka();
    const failing: RelayCheckpointStore = { load: () => checkpoints.load(), save: async () => Promise.reject(new Error('disk full')) };
    const running = relay(kafka, 2, failing);
    running.start();
    (await kafka.nextSend(0)).ack();
    await expect(running.waitForPublished(2)).rejects.toThrow('disk full');
    expect(await running.status()).toMatchObject({ eventsPublished: 0, running: false, error: 'disk full' });
    expect(kafka.sends).toHaveLength(1);
    expect(kafka.connected).toBe(false);
  });
});
