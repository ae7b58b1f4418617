/**
 * Against a real Kafka broker (KAFKA_BROKERS, default 127.0.0.1:9092; start one with
 * `infra/kafka/kafka.sh start`). Skipped when the Jest global setup found no broker on a developer's
 * machine; CI starts one and fails rather than skip.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { comparePositions, EmbeddedEventStore, parsePosition } from '@deals/event-store';
import { EmbeddedReadModelStore } from '@deals/read-models';
import type { Admin } from 'kafkajs';
import { brokerSkipped, connectTestAdmin, describeWithBroker, testBrokers, testKafka } from './testing/test-broker';
import { KafkaRelay, type KafkaRelayOptions } from './kafka-relay';
import { ReadModelRelayCheckpointStore } from './relay-checkpoint-store';
import { appendDealEvents, negotiated, writeDeals } from './testing/relay-events';
import { byDeal, consumeTopic, count, expectExactlyInOrder, firstsAndRepeats } from './testing/topic-reader';

jest.setTimeout(30_000);

const root = path.resolve(__dirname, '../../..');
const partitions = 3;

const kafka = testKafka('relay-int-test');
let admin: Admin;
let dir: string;
let cleanups: Array<() => Promise<void>>;


beforeAll(async () => {
  if (!brokerSkipped) admin = await connectTestAdmin(kafka);
});

afterAll(async () => {
  await admin?.disconnect();
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-relay-'));
  cleanups = [];
});

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function freshTopic(): Promise<string> {
  const topic = `relay-test-${randomUUID()}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  cleanups.push(() => admin.deleteTopics({ topics: [topic] }).catch(() => undefined));
  return topic;
}

function openEvents(file = path.join(dir, 'events.sqlite')): EmbeddedEventStore {
  const store = EmbeddedEventStore.open({ path: file, pollIntervalMs: 20 });
  cleanups.push(() => store.close());
  return store;
}

function openReadModels(file = path.join(dir, 'read-models.sqlite')): EmbeddedReadModelStore {
  const store = EmbeddedReadModelStore.open(file);
  cleanups.push(() => store.close());
  return store;
}

function relay(events: EmbeddedEventStore, checkpoints: ReadModelRelayCheckpointStore, options: KafkaRelayOptions): KafkaRelay {
  const created = new KafkaRelay(events, kafka, checkpoints, { batchSize: 100, ...options });
  cleanups.push(() => created.stop());
  return created;
}

describeWithBroker('KafkaRelay against a real broker', () => {
  it('delivers every event appended, before and after it started, in order per deal', async () => {
    const topic = await freshTopic();
    const events = openEvents();
    const history = await writeDeals(events, 20, 15);
    const checkpoints = ReadModelRelayCheckpointStore.forTopic(openReadModels(), topic);
    const running = relay(events, checkpoints, { topic });
    running.start();
    // Live appends while it catches up and after.
    const live = await writeDeals(events, 10, 6, 2);
    for (const [dealId, ids] of live) history.set(dealId, ids);
    const [first] = history.keys();
    const more = await appendDealEvents(events, first!, [negotiated(15, '2025-02-01T00:00:00.000Z')], 15);
    history.get(first!)!.push(...more.ids);

    const total = count(history);
    const received = await consumeTopic(kafka, topic, total);
    expect(received).toHaveLength(total);
    expectExactlyInOrder(received, history);

    await running.waitForPublished(total);
    const status = await running.status();
    const head = received.map((message) => parsePosition(message.envelope.globalPosition)).sort(comparePositions).at(-1)!;
    expect(status).toMatchObject({ topic, eventsPublished: total, lagEvents: 0, lagMs: 0, caughtUp: true, running: true, position: `${head.commit}/${head.prepare}` });
    expect(status.error).toBeUndefined();
    // Global positions rise within each deal.
    for (const envelopes of byDeal(received).values()) {
      for (let i = 1; i < envelopes.length; i += 1) {
        expect(comparePositions(parsePosition(envelopes[i - 1]!.globalPosition), parsePosition(envelopes[i]!.globalPosition))).toBe(-1);
      }
    }
  });

  it('resumes from its checkpoint when stopped and started again: nothing lost, nothing repeated', async () => {
    const topic = await freshTopic();
    const events = openEvents();
    const readModels = openReadModels();
    const history = await writeDeals(events, 10, 10);
    const first = relay(events, ReadModelRelayCheckpointStore.forTopic(readModels, topic), { topic, batchSize: 7 });
    first.start();
    await first.waitForPublished(100);
    await first.stop();
    expect(await first.status()).toMatchObject({ eventsPublished: 100, running: false });

    // Appended while no relay runs.
    for (const [dealId, ids] of await writeDeals(events, 5, 8)) history.set(dealId, ids);
    const second = relay(events, ReadModelRelayCheckpointStore.forTopic(readModels, topic), { topic, batchSize: 7 });
    second.start();
    const total = count(history);
    await second.waitForPublished(total);

    const received = await consumeTopic(kafka, topic, total);
    expect(received).toHaveLength(total);
    expectExactlyInOrder(received, history);
  });

  it('resumes from its checkpoint after its process is killed mid-publish: nothing lost, duplicates only after the checkpoint', async () => {
    const topic = await freshTopic();
    const eventsFile = path.join(dir, 'events.sqlite');
    const readModelsFile = path.join(dir, 'read-models.sqlite');
    const events = openEvents(eventsFile);
    const history = await writeDeals(events, 40, 50, 10);
    const total = count(history);

    const child = spawn(
      process.execPath,
      ['--require', path.join(root, 'scripts/register-ts.js'), path.join(__dirname, 'testing/relay-child.ts'), eventsFile, readModelsFile, topic, testBrokers.join(',')],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(async () => void child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr += String(data)));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    // Killed right after an acknowledgement, before (or while) its checkpoint is written.
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      child.stdout.on('data', (data: Buffer) => {
        buffered += String(data);
        const acked = [...buffered.matchAll(/acked (\d+)/g)].map((match) => Number(match[1]));
        if (acked.some((published) => published >= 600)) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      void exited.then((how) => reject(new Error(`The relay child ended (${String(how)}) before it was killed: ${stderr}`)));
    });
    expect(await exited).toBe('SIGKILL');

    const readModels = openReadModels(readModelsFile);
    const checkpoints = ReadModelRelayCheckpointStore.forTopic(readModels, topic);
    const atKill = await checkpoints.load();
    expect(atKill).toBeDefined();
    expect(atKill!.eventsProcessed).toBeLessThan(total);

    const restarted = relay(events, checkpoints, { topic });
    restarted.start();
    const received = await consumeTopic(kafka, topic, total);

    // Every event, each deal's first deliveries in order.
    const { firsts, repeats: duplicates } = firstsAndRepeats(received);
    expectExactlyInOrder([...firsts.values()], history);
    // A repeat is byte for byte the first delivery, of an event after the checkpoint the restart began from.
    for (const duplicate of duplicates) {
      expect(duplicate.value).toBe(firsts.get(duplicate.envelope.eventId)!.value);
      expect(comparePositions(parsePosition(duplicate.envelope.globalPosition), atKill!.position)).toBe(1);
    }
    // The restart published exactly the events after the checkpoint.
    await restarted.waitForPublished(total);
    expect((await restarted.status()).eventsPublished).toBe(total);
    if (process.env['RELAY_TEST_VERBOSE']) console.log(`killed at checkpoint ${atKill!.eventsProcessed}/${total}; ${duplicates.length} duplicates`);
  });
});
