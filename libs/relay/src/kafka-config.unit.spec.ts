import { kafkaRelayConfig } from './kafka-config';

describe('kafkaRelayConfig', () => {
  it('defaults to the local broker and the deal-events topic', () => {
    expect(kafkaRelayConfig({})).toEqual({ brokers: ['127.0.0.1:9092'], topic: 'deal-events' });
  });

  it('reads KAFKA_BROKERS (comma-separated) and KAFKA_TOPIC', () => {
    expect(kafkaRelayConfig({ KAFKA_BROKERS: 'a:9092, b:9093', KAFKA_TOPIC: 'deals.v1' })).toEqual({ brokers: ['a:9092', 'b:9093'], topic: 'deals.v1' });
  });

  it.each([{ KAFKA_BROKERS: ' , ' }, { KAFKA_BROKERS: 'no-port' }, { KAFKA_TOPIC: 'bad topic' }, { KAFKA_TOPIC: '' }])('refuses %p', (env) => {
    expect(() => kafkaRelayConfig(env)).toThrow();
  });
});
