import { randomUUID } from 'node:crypto';
import { describeWithRedis, testRedisUrl, unlinkPrefix } from '@deals/read-models/testing';
import { Redis } from 'ioredis';
import { idempotencyKeyTtlMs } from '../idempotency-store.port';
import { describeIdempotencyStoreConformance } from '../testing/idempotency-store-conformance';
import { RedisIdempotencyStore } from './redis-idempotency-store';

describeWithRedis('on a real Redis', () => {
  describeIdempotencyStoreConformance('redis', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    let now = Date.now();
    const store = await RedisIdempotencyStore.connect(testRedisUrl, { keyPrefix, now: () => now });
    return {
      store,
      advanceTime: (ms) => {
        now += ms;
      },
      cleanup: async () => {
        await store.close();
        await unlinkPrefix(keyPrefix);
      },
    };
  });
});

describeWithRedis('RedisIdempotencyStore', () => {
  let keyPrefix: string;
  let redis: Redis;
  beforeEach(() => {
    keyPrefix = `test:${randomUUID()}:`;
    redis = new Redis(testRedisUrl);
  });
  afterEach(async () => {
    await redis.quit();
    await unlinkPrefix(keyPrefix);
  });

  it('rejects at once, naming the server without its password, when Redis cannot be reached', async () => {
    await expect(RedisIdempotencyStore.connect('redis://user:secret@127.0.0.1:1')).rejects.toThrow(
      /^Cannot reach Redis at redis:\/\/\*\*\*@127\.0\.0\.1:1: .*ECONNREFUSED/,
    );
  });

  it('shares claims between two connections, as two API instances do', async () => {
    const [a, b] = await Promise.all([0, 1].map(() => RedisIdempotencyStore.connect(testRedisUrl, { keyPrefix })));
    try {
      const key = randomUUID();
      const claims = Array.from({ length: 10 }, (_, i) => ({ requestHash: `hash-${i}`, dealId: randomUUID(), commandId: randomUUID() }));
      const results = await Promise.all(claims.map((claim, i) => (i % 2 ? a! : b!).claim('alice', key, claim)));
      expect(results.filter((result) => result.created)).toHaveLength(1);
      expect(new Set(results.map((result) => result.claim.commandId)).size).toBe(1);
    } finally {
      await a!.close();
      await b!.close();
    }
  });

  it('keeps one key per claim under its prefix, set to expire after a day', async () => {
    const store = await RedisIdempotencyStore.connect(testRedisUrl, { keyPrefix });
    try {
      await store.claim('bob:the:builder', 'k-1', { requestHash: 'h', dealId: 'd', commandId: 'c' });
      const keys = await redis.keys(`${keyPrefix}*`);
      expect(keys).toEqual([`${keyPrefix}bob%3Athe%3Abuilder:k-1`]);
      const ttl = await redis.pttl(keys[0]!);
      expect(ttl).toBeGreaterThan(idempotencyKeyTtlMs - 60_000);
      expect(ttl).toBeLessThanOrEqual(idempotencyKeyTtlMs);
    } finally {
      await store.close();
    }
  });

  it('refuses to answer from a claim it cannot read', async () => {
    const store = await RedisIdempotencyStore.connect(testRedisUrl, { keyPrefix });
    try {
      await redis.hset(`${keyPrefix}alice:k-2`, 'requestHash', 'h', 'created', String(Date.now()));
      await expect(store.claim('alice', 'k-2', { requestHash: 'h', dealId: 'd', commandId: 'c' })).rejects.toThrow(/malformed/);
    } finally {
      await store.close();
    }
  });
});
