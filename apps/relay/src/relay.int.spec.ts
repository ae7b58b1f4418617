/**
 * The relay app as real processes against the real broker (KAFKA_BROKERS, default 127.0.0.1:9092):
 * active and standby side by side over one embedded store, a graceful handover on SIGTERM, every
 * event read back once with the consumer helper.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { EmbeddedEventStore } from '@deals/event-store';
import { EmbeddedReadModelStore } from '@deals/read-models';
import { DealEventConsumer, type DealEventEnvelope } from '@deals/relay';
import type { Admin } from 'kafkajs';
import { runToExit, startWorker, type WorkerProcess } from '../../api/src/projections/testing/worker-process';
import { tempDataDir } from '../../cli/src/testing/cli-harness';
import { writeDeals } from '../../../libs/relay/src/testing/relay-events';
import { brokerSkipped, connectTestAdmin, describeWithBroker, testBrokers, testKafka } from '../../../libs/relay/src/testing/test-broker';

jest.setTimeout(120_000);

const kafka = testKafka('relay-app-test');
let admin: Admin;
let data: ReturnType<typeof tempDataDir>;
let workers: WorkerProcess[];
let topic: string;

beforeAll(async () => {
  if (!brokerSkipped) admin = await connectTestAdmin(kafka);
});

afterAll(async () => {
  await admin?.disconnect();
});

beforeEach(() => {
  data = tempDataDir();
  workers = [];
  topic = `relay-app-test-${randomUUID()}`;
});

afterEach(async () => {
  for (const worker of workers) await worker.stop('SIGKILL');
  await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
  data.remove();
});

async function relay(): Promise<WorkerProcess> {
  const worker = await startWorker('relay', { DATA_DIR: data.dir, KAFKA_BROKERS: testBrokers.join(','), KAFKA_TOPIC: topic, LEASE_TTL_MS: '6000' });
  workers.push(worker);
  return worker;
}

async function appendDeals(deals: number, perDeal: number): Promise<string[]> {
  const events = EmbeddedEventStore.open({ path: path.join(data.dir, 'events.sqlite') });
  try {
    return [...(await writeDeals(events, deals, perDeal)).values()].flat();
  } finally {
    await events.close();
  }
}

/** Reads the topic from its start with the consumer helper until `expected` distinct events were handled. */
async function consumeAll(expected: number): Promise<{ readonly ids: string[]; readonly duplicates: number }> {
  const ids: string[] = [];
  let done = () => {};
  const all = new Promise<void>((resolve) => (done = resolve));
  const consumer = new DealEventConsumer(kafka, { consumerConfig: { maxWaitTimeInMs: 100 } });
  await consumer.run({
    topic,
    groupId: `relay-app-test-${randomUUID()}`,
    handle: async (envelope: DealEventEnvelope) => {
      ids.push(envelope.eventId);
      if (ids.length === expected) done();
    },
  });
  try {
    await all;
    return { ids, duplicates: consumer.stats().duplicates };
  } finally {
    await consumer.stop();
  }
}

const leading = (published: number) => (health: any) => health.role === 'leader' && health.relay.eventsPublished === published;

describeWithBroker('the relay app', () => {
  it('publishes from one of two processes; on SIGTERM it stores its checkpoint and the standby goes on from there: every event once', async () => {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const first = await appendDeals(10, 10);
    const [a, b] = await Promise.all([relay(), relay()]);
    const healths = await Promise.all([a!.healthUntil(() => true), b!.healthUntil(() => true)]);
    expect(healths.map((health) => health.role).sort()).toEqual(['leader', 'standby']);
    const leader = healths[0].role === 'leader' ? a! : b!;
    const standby = leader === a ? b! : a!;

    await leader.healthUntil(leading(first.length));
    expect(await leader.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const store = EmbeddedReadModelStore.open(path.join(data.dir, 'read-models.sqlite'));
    expect((await store.checkpoint(`relay-${topic}`))?.eventsProcessed).toBe(first.length);
    await store.close();

    const second = await appendDeals(5, 8);
    await standby.healthUntil(leading(first.length + second.length));
    expect((await standby.get('/metrics')).body).toContain(`deals_relay_events_published{topic="${topic}"} ${first.length + second.length}`);
    expect(await standby.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const received = await consumeAll(first.length + second.length);
    expect(received.duplicates).toBe(0);
    expect(received.ids.sort()).toEqual([...first, ...second].sort());
  });

  it('says it is degraded, with its lag, while its topic is missing, and catches up once the topic exists', async () => {
    const appended = await appendDeals(3, 4);
    const app = await relay();

    const degraded = await app.healthUntil((health) => health.status === 'degraded');
    expect(degraded.role).toBe('leader');
    expect(degraded.relay).toMatchObject({ eventsPublished: 0, lagEvents: appended.length, caughtUp: false, running: true, lastFailure: expect.any(String) });
    expect(degraded.relay.lagMs).toBeGreaterThan(0);
    expect((await app.get('/health')).status).toBe(200);
    expect((await app.get('/metrics')).body).toContain(`deals_relay_lag_events{topic="${topic}"} ${appended.length}`);

    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const recovered = await app.healthUntil((health) => health.status === 'ok' && health.relay.caughtUp);
    expect(recovered.relay).toMatchObject({ eventsPublished: appended.length, lagEvents: 0, lagMs: 0 });
    expect(recovered.relay.lastFailure).toBeUndefined();
    expect((await app.get('/metrics')).body).toContain(`deals_relay_lag_events{topic="${topic}"} 0`);
    expect(await app.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const received = await consumeAll(appended.length);
    expect(received.ids.sort()).toEqual([...appended].sort());
  });
});

describe('the relay app', () => {
  it.each([
    [{}, 'KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: 'kafka' }, 'KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_TOPIC: 'deal events' }, 'KAFKA_TOPIC'],
  ])('stops at start on a wrong or missing setting, naming it: %p', async (env: Record<string, string>, setting) => {
    const run = await runToExit('relay', { DATA_DIR: data.dir, ...env });
    expect(run.code).toBe(1);
    expect(run.output).toContain(`Configuration error: ${setting}: `);
  });
});
