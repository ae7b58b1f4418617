/**
 * Example downstream consumer of the deal-event topic (docs/kafka.md, "Consuming deal events").
 * Type-checked with the project, under no test tier. Run it with
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 KAFKA_TOPIC=deal-events \
 *     node --require ./scripts/register-ts.js libs/relay/src/consumer/example-consumer.ts
 *
 * It keeps a count of closed deals. A real service would write its effect and the event id in one
 * transaction of its own database (see `SeenEvents`), which makes "handled once" exact across restarts;
 * the in-memory default only drops the duplicates it still remembers.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { DealEventEnvelope } from '../kafka-envelope';
import { DealEventConsumer, InMemorySeenEvents } from './deal-event-consumer';

const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',').map((broker) => broker.trim());
const topic = process.env['KAFKA_TOPIC'] ?? 'deal-events';
// One group per downstream service: every group gets every event; members of a group share partitions.
const groupId = process.env['KAFKA_GROUP_ID'] ?? 'example-closed-deals';

const closedDeals = new Set<string>();

async function handle(event: DealEventEnvelope): Promise<void> {
  switch (event.type) {
    case 'Closed':
      closedDeals.add(event.dealId);
      console.log(`deal ${event.dealId} closed (revision ${event.streamRevision}); ${closedDeals.size} closed so far`);
      return;
    default:
      // More event types may come: ignore the ones this service does not need.
      return;
  }
}

async function main(): Promise<void> {
  const kafka = new Kafka({ clientId: groupId, brokers, logLevel: logLevel.WARN });
  const consumer = new DealEventConsumer(kafka, {
    // 5 calls of `handle`, waits drawn from [0, 200 ms), [0, 400 ms), ... capped at 30 s; then `<topic>.dlq`.
    retry: { attempts: 5, initialDelayMs: 200, maxDelayMs: 30_000 },
    seen: new InMemorySeenEvents(50_000),
  });
  await consumer.run({ topic, groupId, handle });
  console.log(`consuming ${topic} as ${groupId}; dead letters go to ${topic}.dlq`);

  const shutdown = () => {
    void consumer.stop().then(() => {
      console.log(`stopped: ${JSON.stringify(consumer.stats())}`);
      process.exit(0);
    });
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
