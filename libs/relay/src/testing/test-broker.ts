import { type Admin, Kafka, logLevel } from 'kafkajs';

/** The broker the integration tests use: KAFKA_BROKERS, or the one `infra/kafka/kafka.sh start` runs. */
export const testBrokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',').map((broker) => broker.trim());

/** The Jest global setup found no broker: a developer's run skips these suites; in CI it fails instead. */
export const brokerSkipped = process.env['DEALS_TEST_KAFKA'] === 'down';
export const describeWithBroker = brokerSkipped ? describe.skip : describe;

export function testKafka(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: testBrokers, logLevel: logLevel.NOTHING, connectionTimeout: 3_000, retry: { retries: 3 } });
}

/** An admin client that has reached the broker, or an error that says how to start one. */
export async function connectTestAdmin(kafka: Kafka): Promise<Admin> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return admin;
  } catch (error) {
    throw new Error(`No Kafka broker answers at ${testBrokers.join(',')} (start one with infra/kafka/kafka.sh start): ${String(error)}`);
  }
}
