/**
 * The API with KAFKA_BROKERS set runs the Kafka relay in its own process (API_WORKERS=in-process, as
 * `npm start` does): deals driven over HTTP reach the real broker (KAFKA_BROKERS, default
 * 127.0.0.1:9092), each event once, in its deal's order, keyed by the deal.
 */
import { randomUUID } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { brokerSkipped, connectTestAdmin, describeWithBroker, testBrokers, testKafka } from '../../../../libs/relay/src/testing/test-broker';
import { byDeal, consumeTopic } from '../../../../libs/relay/src/testing/topic-reader';
import { bodies, startTestApp, type TestApp } from '../testing/test-app';

jest.setTimeout(60_000);

const kafka = testKafka('api-relay-test');
const topic = `api-relay-test-${randomUUID()}`;
let admin: Admin;
let api: TestApp;

beforeAll(async () => {
  if (brokerSkipped) return;
  admin = await connectTestAdmin(kafka);
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  api = await startTestApp({ kafka: { brokers: testBrokers, topic } });
});

afterAll(async () => {
  await api?.close();
  await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin?.disconnect();
});

describeWithBroker('the API with KAFKA_BROKERS', () => {
  it("publishes the events of deals driven over HTTP to the topic: each once, in its deal's order, as the deal's history has them", async () => {
    const dealIds: string[] = [];
    for (let deal = 0; deal < 3; deal++) {
      const captured = await api.request('POST', '/deals', { body: bodies.lead({ owner: `owner-${deal}` }) });
      expect(captured.status).toBe(201);
      const dealId: string = captured.body.dealId;
      dealIds.push(dealId);
      expect((await api.request('POST', `/deals/${dealId}/qualification`, { body: bodies.qualification() })).status).toBe(200);
      expect((await api.request('POST', `/deals/${dealId}/proposals`, { body: bodies.proposal() })).status).toBe(200);
    }

    const received = await consumeTopic(kafka, topic, 9);
    expect(received).toHaveLength(9);
    const deals = byDeal(received);
    for (const dealId of dealIds) {
      const history = await api.request('GET', `/deals/${dealId}/history`, { as: 'auditor' });
      expect(history.status).toBe(200);
      expect(deals.get(dealId)?.map(({ eventId, type, streamRevision }) => ({ eventId, type, streamRevision }))).toEqual(
        history.body.entries.map((entry: { eventId: string; type: string; version: number }) => ({ eventId: entry.eventId, type: entry.type, streamRevision: String(entry.version) })),
      );
    }
    const metrics = await api.request('GET', '/metrics', { as: null });
    expect(metrics.text).toContain(`deals_relay_events_published{topic="${topic}"} 9`);
  });
});
