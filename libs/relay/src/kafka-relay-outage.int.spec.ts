/**
 * The broker goes away while events are appended, and comes back. The broker here is the test's own
 * (infra/kafka/kafka.sh on free ports, see testing/second-broker.ts), so the shared one on 9092 is
 * never disturbed; it runs wherever the broker suites run (the script needs Java 17 and the jars).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { comparePositions, EmbeddedEventStore, parsePosition } from '@deals/event-store';
import { EmbeddedReadModelStore } from '@deals/read-models';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { DealEventConsumer } from './consumer/deal-event-consumer';
import type { DealEventEnvelope } from './kafka-envelope';
import { KafkaRelay } from './kafka-relay';
import { ReadModelRelayCheckpointStore } from './relay-checkpoint-store';
import { appendDealEvents, leadCaptured, negotiated } from './testing/relay-events';
import { secondBroker, type SecondBroker } from './testing/second-broker';
import { describeWithBroker } from './testing/test-broker';
import { byDeal, consumeTopic, count, expectExactlyInOrder, firstsAndRepeats } from './testing/topic-reader';

jest.setTimeout(180_000);

/**
 * Appends one event at a time to a few dozen deals in turn, as a steady trickle of commands would,
 * until stopped; remembers each deal's event ids in order.
 */
class Appender {
  readonly history = new Map<string, string[]>();
  appended = 0;
  private stopped = false;
  private readonly done: Promise<void>;
  private waiters: Array<{ readonly count: number; readonly wake: () => void }> = [];

  constructor(private readonly events: EmbeddedEventStore, deals: number) {
    for (let i = 0; i < deals; i += 1) this.history.set(randomUUID(), []);
    this.done = this.loop();
  }

  /** Resolves once `more` further events were appended. */
  async appendMore(more: number): Promise<void> {
    const target = this.appended + more;
    if (this.appended >= target) return;
    await new Promise<void>((wake) => this.waiters.push({ count: target, wake }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async loop(): Promise<void> {
    const deals = [...this.history.keys()];
    for (let turn = 0; !this.stopped; turn += 1) {
      const dealId = deals[turn % deals.length]!;
      const ids = this.history.get(dealId)!;
      const at = new Date(Date.UTC(2025, 0, 1) + ids.length * 60_000).toISOString();
      const event = ids.length === 0 ? leadCaptured(dealId, at) : negotiated(ids.length, at);
      const { ids: appended } = await appendDealEvents(this.events, dealId, [event], ids.length);
      ids.push(...appended);
      this.appended += 1;
      this.waiters = this.waiters.filter((waiter) => (this.appended >= waiter.count ? (waiter.wake(), false) : true));
      // A steady rate rather than a flood, so the outage falls in the middle of the appends.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
}

describeWithBroker('KafkaRelay through a broker outage', () => {
  let broker: SecondBroker;
  let kafka: Kafka;
  let admin: Admin;
  let dir: string;

  beforeAll(async () => {
    broker = await secondBroker();
    await broker.start();
    kafka = new Kafka({ clientId: 'relay-outage-test', brokers: [broker.address], logLevel: logLevel.NOTHING, connectionTimeout: 3_000 });
    admin = kafka.admin();
    await admin.connect();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-relay-outage-'));
  });

  afterAll(async () => {
    await admin?.disconnect();
    await broker?.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing and keeps each deal in order when the broker stops while events are appended and starts again; the consumer helper drops the repeats', async () => {
    const topic = `relay-outage-${randomUUID()}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const events = EmbeddedEventStore.open({ path: path.join(dir, 'events.sqlite'), pollIntervalMs: 20 });
    const readModels = EmbeddedReadModelStore.open(path.join(dir, 'read-models.sqlite'));
    const checkpoints = ReadModelRelayCheckpointStore.forTopic(readModels, topic);
    const logged: string[] = [];
    const relay = new KafkaRelay(events, kafka, checkpoints, { topic, batchSize: 50, log: (message) => logged.push(message) });
    const relays = [relay];
    const appender = new Appender(events, 30);
    try {
      relay.start();
      await appender.appendMore(300);
      await relay.waitForPublished(200, 30_000);

      await admin.disconnect();
      await broker.stop();
      const appendedAtStop = appender.appended;
      const atStop = await checkpoints.load();
      await appender.appendMore(500);
      // Without a broker nothing more can be acknowledged, so the checkpoint cannot have moved past
      // what was appended before it went away.
      const duringOutage = await checkpoints.load();
      expect(duringOutage!.eventsProcessed).toBeLessThanOrEqual(appendedAtStop);
      expect((await relay.status()).running).toBe(true);

      await broker.start();
      await admin.connect();
      await appender.appendMore(300);
      await appender.stop();
      const total = count(appender.history);
      await relay.waitForPublished(total, 90_000);
      expect(await relay.status()).toMatchObject({ running: true, eventsPublished: total });

      // At least once, made certain: a relay that restarts from the checkpoint held when the broker
      // left (as a crash between acknowledgements and checkpoints would leave it) publishes again
      // everything after it.
      await relay.stop();
      await checkpoints.save(atStop!);
      const again = new KafkaRelay(events, kafka, checkpoints, { topic, batchSize: 50, log: (message) => logged.push(message) });
      relays.push(again);
      again.start();
      await again.waitForPublished(total, 90_000);
      const republished = total - atStop!.eventsProcessed;

      // On the wire: every event, the first delivery of each in its deal's order; a repeat is byte for
      // byte its first delivery and comes from a republish after the checkpoint held when the broker left.
      const offsets = await admin.fetchTopicOffsets(topic);
      const onTopic = offsets.reduce((sum, { high }) => sum + Number(high), 0);
      const received = await consumeTopic(kafka, topic, total, 60_000, onTopic);
      expect(received).toHaveLength(onTopic);
      const { firsts, repeats } = firstsAndRepeats(received);
      expectExactlyInOrder([...firsts.values()], appender.history);
      expect(repeats.length).toBeGreaterThanOrEqual(republished);
      for (const repeat of repeats) {
        expect(repeat.value).toBe(firsts.get(repeat.envelope.eventId)!.value);
        expect(comparePositions(parsePosition(repeat.envelope.globalPosition), atStop!.position)).toBe(1);
      }

      // Through the consumer helper: each event handled once, in its deal's order; it drops the repeats.
      const handled: DealEventEnvelope[] = [];
      const consumer = new DealEventConsumer(kafka, { log: (message) => logged.push(message) });
      await consumer.run({ topic, groupId: `relay-outage-${randomUUID()}`, handle: async (envelope) => void handled.push(envelope) });
      // Every message on the topic is either handled or dropped as a duplicate.
      for (let waited = 0; handled.length + consumer.stats().duplicates < onTopic; waited += 100) {
        if (waited > 60_000) throw new Error(`The consumer helper took ${handled.length} + ${consumer.stats().duplicates} of ${onTopic} messages`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const stats = consumer.stats();
      await consumer.stop();
      expect(handled).toHaveLength(total);
      expect(stats).toMatchObject({ duplicates: repeats.length, deadLettered: 0 });
      const deals = byDeal(handled.map((envelope) => ({ partition: 0, envelope, value: '' })));
      for (const [dealId, ids] of appender.history) expect(deals.get(dealId)!.map((envelope) => envelope.eventId)).toEqual(ids);
      if (process.env['RELAY_TEST_VERBOSE']) console.log(`${total} events, ${repeats.length} repeats on the wire; relay log: ${logged.join('\n')}`);
    } finally {
      await appender.stop();
      for (const running of relays) await running.stop();
      await readModels.close();
      await events.close();
    }
  });
});
