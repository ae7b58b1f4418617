import { ConfigError, defaultRottingDays, defaultStageProbabilities, loadConfig, parseApiKeys } from './config';

const cwd = '/srv/deals';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, cwd);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('runs everything embedded with nothing configured', () => {
    expect(loadConfig({}, cwd)).toEqual({
      eventStore: 'embedded',
      readModelStore: 'embedded',
      idempotencyStore: 'embedded',
      dataDir: '/srv/deals/data',
      port: 3000,
      host: '127.0.0.1',
      apiKeys: [],
      bodyLimitBytes: 65536,
      seedDemo: true,
      stageProbabilities: defaultStageProbabilities,
      rottingDays: defaultRottingDays,
      apiWorkers: 'in-process',
      leaseTtlMs: 15000,
      logFormat: 'text',
      projectionCommitIntervalMs: 100,
      analyticsResidentDeals: 150_000,
    });
  });

  it('reads every setting it knows', () => {
    const config = loadConfig(
      {
        DATA_DIR: '/var/lib/deals',
        PORT: '8080',
        HOST: '0.0.0.0',
        EVENT_STORE: 'esdb',
        ESDB_URL: 'esdb://eventstore:2113?tls=false',
        READ_MODEL_STORE: 'redis',
        REDIS_URL: 'redis://cache:6379/2',
        BODY_LIMIT_BYTES: '131072',
        SEED_DEMO: 'false',
        STAGE_PROBABILITIES: 'lead=0.05, negotiation=0.8',
        ROTTING_DAYS: 'proposal=10',
        API_KEYS: 'sales-key-0123456789=jane:sales+analyst',
        API_WORKERS: 'off',
        KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9092',
        KAFKA_TOPIC: 'deals.v1',
        LEASE_TTL_MS: '30000',
        ANALYTICS_RESIDENT_DEALS: '0',
      },
      cwd,
    );
    expect(config).toMatchObject({
      dataDir: '/var/lib/deals',
      port: 8080,
      host: '0.0.0.0',
      eventStore: 'esdb',
      esdbUrl: 'esdb://eventstore:2113?tls=false',
      readModelStore: 'redis',
      redisUrl: 'redis://cache:6379/2',
      bodyLimitBytes: 131072,
      seedDemo: false,
      stageProbabilities: { ...defaultStageProbabilities, lead: 0.05, negotiation: 0.8 },
      rottingDays: { ...defaultRottingDays, proposal: 10 },
      apiKeys: [{ key: 'sales-key-0123456789', actor: 'jane', roles: ['sales', 'analyst'] }],
      analyticsResidentDeals: 0,
      apiWorkers: 'off',
      kafka: { brokers: ['kafka-1:9092', 'kafka-2:9092'], topic: 'deals.v1' },
      leaseTtlMs: 30000,
    });
  });

  it('turns the relay on only when KAFKA_BROKERS is set, with the deal-events topic by default', () => {
    expect(loadConfig({}, cwd).kafka).toBeUndefined();
    expect(loadConfig({ KAFKA_BROKERS: '127.0.0.1:9092' }, cwd).kafka).toEqual({ brokers: ['127.0.0.1:9092'], topic: 'deal-events' });
  });

  it('keeps Idempotency-Key claims where the read models are, unless IDEMPOTENCY_STORE says otherwise', () => {
    const redis = { REDIS_URL: 'redis://cache:6379' };
    expect(loadConfig({ ...redis, READ_MODEL_STORE: 'redis' }, cwd).idempotencyStore).toBe('redis');
    expect(loadConfig({ ...redis, READ_MODEL_STORE: 'redis', IDEMPOTENCY_STORE: 'embedded' }, cwd).idempotencyStore).toBe('embedded');
    expect(loadConfig({ ...redis, IDEMPOTENCY_STORE: 'redis' }, cwd)).toMatchObject({ readModelStore: 'embedded', idempotencyStore: 'redis' });
  });

  it.each([
    [{ EVENT_STORE: 'postgres' }, 'EVENT_STORE'],
    [{ EVENT_STORE: 'esdb' }, 'ESDB_URL'],
    [{ EVENT_STORE: 'esdb', ESDB_URL: 'http://localhost:2113' }, 'ESDB_URL'],
    [{ READ_MODEL_STORE: 'memcached' }, 'READ_MODEL_STORE'],
    [{ READ_MODEL_STORE: 'redis' }, 'REDIS_URL'],
    [{ REDIS_URL: 'http://cache:6379' }, 'REDIS_URL'],
    [{ IDEMPOTENCY_STORE: 'memcached' }, 'IDEMPOTENCY_STORE'],
    [{ IDEMPOTENCY_STORE: 'redis' }, 'REDIS_URL'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '80a' }, 'PORT'],
    [{ BODY_LIMIT_BYTES: '10' }, 'BODY_LIMIT_BYTES'],
    [{ SEED_DEMO: 'yes' }, 'SEED_DEMO'],
    [{ LOG_FORMAT: 'JSON' }, 'LOG_FORMAT'],
    [{ PROJECTION_COMMIT_INTERVAL_MS: '-1' }, 'PROJECTION_COMMIT_INTERVAL_MS'],
    [{ ANALYTICS_RESIDENT_DEALS: '1e6' }, 'ANALYTICS_RESIDENT_DEALS'],
    [{ STAGE_PROBABILITIES: 'lead=1.5' }, 'STAGE_PROBABILITIES'],
    [{ STAGE_PROBABILITIES: 'closing=0.5' }, 'STAGE_PROBABILITIES'],
    [{ ROTTING_DAYS: 'won=10' }, 'ROTTING_DAYS'],
    [{ ROTTING_DAYS: 'lead=0' }, 'ROTTING_DAYS'],
    [{ API_KEYS: 'short=jane:sales' }, 'API_KEYS'],
    [{ API_WORKERS: 'yes' }, 'API_WORKERS'],
    [{ KAFKA_BROKERS: ' , ' }, 'KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: 'kafka' }, 'KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: 'kafka:9092', KAFKA_TOPIC: 'deal events' }, 'KAFKA_TOPIC'],
    [{ LEASE_TTL_MS: '500' }, 'LEASE_TTL_MS'],
  ])('stops at start on a wrong setting, naming it: %p', (env, setting) => {
    const error = configError(env);
    expect(error.setting).toBe(setting);
    expect(error.message).toMatch(new RegExp(`^${setting}: `));
  });
});

describe('parseApiKeys', () => {
  it('reads several keys with their actors and roles', () => {
    expect(parseApiKeys('aaaaaaaaaaaaaaaa=ann:auditor, bbbbbbbbbbbbbbbb=bob:sales+admin+sales')).toEqual([
      { key: 'aaaaaaaaaaaaaaaa', actor: 'ann', roles: ['auditor'] },
      { key: 'bbbbbbbbbbbbbbbb', actor: 'bob', roles: ['sales', 'admin'] },
    ]);
  });

  it.each([
    ['no actor', 'aaaaaaaaaaaaaaaa=sales'],
    ['unknown role', 'aaaaaaaaaaaaaaaa=ann:boss'],
    ['key with spaces', 'aaaa aaaaaaaaaaaa=ann:sales'],
    ['actor with spaces', 'aaaaaaaaaaaaaaaa=ann smith:sales'],
    ['duplicate key', 'aaaaaaaaaaaaaaaa=ann:sales,aaaaaaaaaaaaaaaa=bob:sales'],
  ])('refuses %s', (_, text) => {
    expect(() => parseApiKeys(text)).toThrow(ConfigError);
  });
});
