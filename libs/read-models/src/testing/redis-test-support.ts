import { Redis } from 'ioredis';

/** The Redis the integration tests use: REDIS_URL, or the local default. */
export const testRedisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/**
 * Whether the Jest global setup found a Redis answering. Without one, a developer's `npm test` skips
 * the Redis cases (saying so) instead of failing; in CI the setup fails the run instead, and
 * .ci/run fails on any skipped test, so CI always runs them.
 */
export const redisAvailable = process.env['DEALS_TEST_REDIS'] !== 'down';

export type ReadModelStoreKind = 'embedded' | 'redis';
export const readModelStoreKinds: readonly ReadModelStoreKind[] = ['embedded', 'redis'];

export const describeWithRedis = redisAvailable ? describe : describe.skip;
export const itWithRedis = redisAvailable ? it : it.skip;

/** `describe` for the embedded store, and for Redis when one answers. */
export function describeForStore(kind: ReadModelStoreKind): jest.Describe {
  return kind === 'redis' ? describeWithRedis : describe;
}

export function itForStore(kind: ReadModelStoreKind): jest.It {
  return kind === 'redis' ? itWithRedis : it;
}

/** Removes every key under the prefix, with a client of its own. */
export async function unlinkPrefix(prefix: string): Promise<void> {
  const redis = new Redis(testRedisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
