import { isAbsolute, resolve } from 'node:path';

export const roles = ['sales', 'auditor', 'analyst', 'admin'] as const;
export type Role = (typeof roles)[number];

export interface ApiKey {
  readonly key: string;
  readonly actor: string;
  readonly roles: readonly Role[];
}

export type StageProbabilities = Readonly<Record<'lead' | 'qualified' | 'proposal' | 'negotiation' | 'won' | 'lost', number>>;
export type RottingDays = Readonly<Record<'lead' | 'qualified' | 'proposal' | 'negotiation', number>>;

export const defaultStageProbabilities: StageProbabilities = {
  lead: 0.1,
  qualified: 0.25,
  proposal: 0.5,
  negotiation: 0.7,
  won: 1,
  lost: 0,
};

export const defaultRottingDays: RottingDays = { lead: 14, qualified: 21, proposal: 30, negotiation: 21 };

export interface AppConfig {
  readonly eventStore: 'embedded' | 'esdb';
  /** Required when eventStore is esdb: esdb://host:2113?tls=false or esdb+discover://… */
  readonly esdbUrl?: string;
  readonly readModelStore: 'embedded' | 'redis';
  /** Required when readModelStore or idempotencyStore is redis. */
  readonly redisUrl?: string;
  /** Where Idempotency-Key claims live; redis lets API instances behind one load balancer share them. */
  readonly idempotencyStore: 'embedded' | 'redis';
  /** Default chance to win per stage (0 to 1), for the weighted pipeline; a deal's own winProbability overrides it. */
  readonly stageProbabilities: StageProbabilities;
  /** A deal with no activity for longer than its stage's limit is rotting. */
  readonly rottingDays: RottingDays;
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  /** Empty when API_KEYS is unset: the service then creates a local development key. */
  readonly apiKeys: readonly ApiKey[];
  readonly bodyLimitBytes: number;
  readonly seedDemo: boolean;
  /**
   * Whether the API process also runs the projections (and the Kafka relay when `kafka` is set), under
   * the same leases as the projector and relay apps: `in-process` (the default) or `off` (the
   * production set, where apps/projector and apps/relay do it).
   */
  readonly apiWorkers: 'in-process' | 'off';
  /** Set only when KAFKA_BROKERS is: the relay is off without it. */
  readonly kafka?: KafkaSettings;
  /** How long the projector's and the relay's leases last without renewal; see docs/production.md. */
  readonly leaseTtlMs: number;
  /** `text` (coloured on a terminal) or `json`: one JSON object per line, for a log collector. */
  readonly logFormat: 'text' | 'json';
  /**
   * Under a steady stream of commands, each live projection commits at most this often (ms), folding
   * a deal's successive events into one change; a lone event after a quiet spell still commits at once.
   */
  readonly projectionCommitIntervalMs: number;
  /**
   * The most deals whose timelines an API keeps in memory, once a question only a scan answers has
   * read them, for every later such question (about 800 bytes each); 0 keeps none.
   */
  readonly analyticsResidentDeals: number;
}

export interface KafkaSettings {
  /** host:port of each bootstrap broker. */
  readonly brokers: readonly string[];
  readonly topic: string;
}

export const defaultKafkaTopic = 'deal-events';

export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads and checks the whole configuration once, at start; a wrong setting stops the process with its name. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): AppConfig {
  const dataDir = env['DATA_DIR'] || 'data';
  const readModelStore = oneOf(env, 'READ_MODEL_STORE', ['embedded', 'redis'] as const, 'embedded');
  const redisUrl = env['REDIS_URL'];
  if (readModelStore === 'redis' && !redisUrl) throw new ConfigError('REDIS_URL', 'is required when READ_MODEL_STORE=redis');
  const idempotencyStore = oneOf(env, 'IDEMPOTENCY_STORE', ['embedded', 'redis'] as const, readModelStore);
  if (idempotencyStore === 'redis' && !redisUrl) throw new ConfigError('REDIS_URL', 'is required when IDEMPOTENCY_STORE=redis');
  if (redisUrl && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) throw new ConfigError('REDIS_URL', `"${redisUrl}" is not a redis:// or rediss:// URL`);
  const eventStore = oneOf(env, 'EVENT_STORE', ['embedded', 'esdb'] as const, 'embedded');
  const esdbUrl = env['ESDB_URL'];
  if (eventStore === 'esdb' && !esdbUrl) throw new ConfigError('ESDB_URL', 'is required when EVENT_STORE=esdb');
  if (esdbUrl && !/^esdb(\+discover)?:\/\/[^\s]+$/.test(esdbUrl)) {
    throw new ConfigError('ESDB_URL', `"${esdbUrl}" is not an esdb:// or esdb+discover:// connection string`);
  }
  const topic = parseKafkaTopic(env['KAFKA_TOPIC'] ?? defaultKafkaTopic);
  const kafka = env['KAFKA_BROKERS'] ? { brokers: parseKafkaBrokers(env['KAFKA_BROKERS']), topic } : undefined;
  return {
    eventStore,
    ...(esdbUrl ? { esdbUrl } : {}),
    readModelStore,
    ...(redisUrl ? { redisUrl } : {}),
    idempotencyStore,
    stageProbabilities: stageMap(env, 'STAGE_PROBABILITIES', defaultStageProbabilities, 0, 1),
    rottingDays: stageMap(env, 'ROTTING_DAYS', defaultRottingDays, 1, 3650),
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir),
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env['HOST'] || '127.0.0.1',
    apiKeys: parseApiKeys(env['API_KEYS'] ?? ''),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024),
    seedDemo: oneOf(env, 'SEED_DEMO', ['true', 'false'] as const, 'true') === 'true',
    apiWorkers: oneOf(env, 'API_WORKERS', ['in-process', 'off'] as const, 'in-process'),
    ...(kafka ? { kafka } : {}),
    leaseTtlMs: integer(env, 'LEASE_TTL_MS', 15_000, 3_000, 600_000),
    logFormat: oneOf(env, 'LOG_FORMAT', ['text', 'json'] as const, 'text'),
    projectionCommitIntervalMs: integer(env, 'PROJECTION_COMMIT_INTERVAL_MS', 100, 0, 10_000),
    analyticsResidentDeals: integer(env, 'ANALYTICS_RESIDENT_DEALS', 150_000, 0, 10_000_000),
  };
}

/** KAFKA_BROKERS: comma-separated host:port, at least one. */
export function parseKafkaBrokers(text: string): string[] {
  const brokers = text
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0);
  if (brokers.length === 0) throw new ConfigError('KAFKA_BROKERS', 'names no broker');
  for (const broker of brokers) if (!/^[^\s:]+:\d+$/.test(broker)) throw new ConfigError('KAFKA_BROKERS', `${JSON.stringify(broker)} is not host:port`);
  return brokers;
}

/** KAFKA_TOPIC: a legal Kafka topic name. */
export function parseKafkaTopic(text: string): string {
  const topic = text.trim();
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw new ConfigError('KAFKA_TOPIC', `${JSON.stringify(topic)} is not a valid topic name`);
  return topic;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = env[name] || fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `"${value}" is not one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** `stage=value,stage=value`: overrides some stages' defaults; the others keep theirs. */
function stageMap<T extends Readonly<Record<string, number>>>(env: Env, name: string, defaults: T, min: number, max: number): T {
  const text = env[name];
  if (!text) return defaults;
  const result: Record<string, number> = { ...defaults };
  for (const entry of text.split(',').map((part) => part.trim()).filter(Boolean)) {
    const match = /^([a-z]+)=([0-9.]+)$/.exec(entry);
    const stage = match?.[1];
    const value = Number(match?.[2]);
    if (!match || stage === undefined || !(stage in defaults)) {
      throw new ConfigError(name, `"${entry}" is not stage=value with a stage among ${Object.keys(defaults).join(', ')}`);
    }
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new ConfigError(name, `${stage}=${match[2]} is not a number from ${min} to ${max}`);
    }
    result[stage] = value;
  }
  return result as T;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (!text) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new ConfigError(name, `"${text}" is not a whole number from ${min} to ${max}`);
  }
  return value;
}

const keyPattern = /^[A-Za-z0-9._~+/-]{16,256}$/;
/** Who an API key (or an import) acts as: what the audit history records. */
export const actorPattern = /^[\p{L}\p{N}._@-]{1,100}$/u;

/** `key=actor:role+role,key2=actor2:role` */
export function parseApiKeys(text: string): ApiKey[] {
  const entries = text.split(',').map((entry) => entry.trim()).filter(Boolean);
  const keys = entries.map((entry, index) => {
    const where = `entry ${index + 1}`;
    const match = /^([^=]+)=([^:]+):(.+)$/.exec(entry);
    if (!match) throw new ConfigError('API_KEYS', `${where} is not in the form key=actor:role+role`);
    const [, key = '', actor = '', roleList = ''] = match;
    if (!keyPattern.test(key)) {
      throw new ConfigError('API_KEYS', `${where}: a key is 16 to 256 characters of A-Z a-z 0-9 . _ ~ + / -`);
    }
    if (!actorPattern.test(actor)) {
      throw new ConfigError('API_KEYS', `${where}: actor "${actor}" must be 1 to 100 letters, digits or . _ @ -`);
    }
    const parsedRoles = roleList.split('+').map((role) => {
      if (!(roles as readonly string[]).includes(role)) {
        throw new ConfigError('API_KEYS', `${where}: role "${role}" is not one of ${roles.join(', ')}`);
      }
      return role as Role;
    });
    return { key, actor, roles: [...new Set(parsedRoles)] };
  });
  const seen = new Set<string>();
  for (const { key } of keys) {
    if (seen.has(key)) throw new ConfigError('API_KEYS', 'the same key is listed twice');
    seen.add(key);
  }
  return keys;
}
