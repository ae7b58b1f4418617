/** KAFKA_BROKERS (comma-separated host:port, default 127.0.0.1:9092) and KAFKA_TOPIC (default deal-events). */
export interface KafkaRelayConfig {
  readonly brokers: readonly string[];
  readonly topic: string;
}

export const defaultKafkaBrokers = '127.0.0.1:9092';
export const defaultKafkaTopic = 'deal-events';

export function kafkaRelayConfig(env: NodeJS.ProcessEnv = process.env): KafkaRelayConfig {
  const brokers = (env['KAFKA_BROKERS'] ?? defaultKafkaBrokers)
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0);
  if (brokers.length === 0) throw new Error('KAFKA_BROKERS names no broker');
  for (const broker of brokers) if (!/^[^\s:]+:\d+$/.test(broker)) throw new Error(`KAFKA_BROKERS: ${JSON.stringify(broker)} is not host:port`);
  const topic = (env['KAFKA_TOPIC'] ?? defaultKafkaTopic).trim();
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw new Error(`KAFKA_TOPIC: ${JSON.stringify(topic)} is not a valid topic name`);
  return { brokers, topic };
}
