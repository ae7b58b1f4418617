import { defaultKafkaTopic, parseKafkaBrokers, parseKafkaTopic } from '@deals/platform';

/** KAFKA_BROKERS (comma-separated host:port, default 127.0.0.1:9092) and KAFKA_TOPIC (default deal-events). */
export interface KafkaRelayConfig {
  readonly brokers: readonly string[];
  readonly topic: string;
}

export const defaultKafkaBrokers = '127.0.0.1:9092';
export { defaultKafkaTopic };

/** The same parsing as loadConfig's (which leaves the relay off without KAFKA_BROKERS); here the local broker is the default. */
export function kafkaRelayConfig(env: NodeJS.ProcessEnv = process.env): KafkaRelayConfig {
  return { brokers: parseKafkaBrokers(env['KAFKA_BROKERS'] ?? defaultKafkaBrokers), topic: parseKafkaTopic(env['KAFKA_TOPIC'] ?? defaultKafkaTopic) };
}
