import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ReadModelChange } from '../read-model-store.port';
import { describeReadModelStoreConformance } from '../testing/read-model-store-conformance';
import { describeWithRedis, testRedisUrl as redisUrl, unlinkPrefix } from '../testing/redis-test-support';
import { RedisReadModelStore } from './redis-read-model-store';

function freshPrefix(): string {
  return `test:${randomUUID()}:`;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const redis = new Redis(redisUrl);
  try {
    return (await redis.keys(`${prefix}*`)).sort();
  } finally {
    await redis.quit();
  }
}

describeWithRedis('on a real Redis', () => {
  describeReadModelStoreConformance('redis', async () => {
    const keyPrefix = freshPrefix();
    const store = await RedisReadModelStore.connect(redisUrl, { keyPrefix });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await unlinkPrefix(keyPrefix);
      },
    };
  });
});

describeWithRedis('RedisReadModelStore', () => {
  let keyPrefix: string;
  let store: RedisReadModelStore;
  const checkpoint = { position: { commit: 1n, prepare: 1n }, eventsProcessed: 1, lastRecordedAt: '2025-01-01T00:00:00.000Z' };

  beforeEach(async () => {
    keyPrefix = freshPrefix();
    store = await RedisReadModelStore.connect(redisUrl, { keyPrefix });
  });

  afterEach(async () => {
    await store.close();
    await unlinkPrefix(keyPrefix);
  });

  it('rejects at once, naming the server without its password, when Redis cannot be reached', async () => {
    await expect(RedisReadModelStore.connect('redis://user:secret@127.0.0.1:1')).rejects.toThrow(
      /^Cannot reach Redis at redis:\/\/\*\*\*@127\.0\.0\.1:1: .*ECONNREFUSED/,
    );
  });

  it('keeps every key under its prefix, one key per collection, counter and index', async () => {
    const changes: ReadModelChange[] = [
      { kind: 'put', collection: 'p:deal', id: 'a', document: {} },
      { kind: 'increment', counter: 'p:deal', field: 'n', by: 1 },
      { kind: 'index', index: 'p:deal', member: 'a', score: 1 },
    ];
    await store.commit('p', changes, checkpoint);
    expect(await keysUnder(keyPrefix)).toEqual(['c:p:deal', 'd:p:deal', 'i:p:deal', 'k:p', 'x:p:deal'].map((key) => `${keyPrefix}${key}`));
  });

  it('fails a commit on a closed connection and lands nothing of it', async () => {
    await store.close();
    await expect(store.commit('p', [{ kind: 'put', collection: 'p:deal', id: 'a', document: {} }], checkpoint)).rejects.toThrow();
    expect(await keysUnder(keyPrefix)).toEqual([]);
  });

  it('refuses to answer a checkpoint while a reset is unfinished, until a reset completes', async () => {
    await store.commit('p', [{ kind: 'increment', counter: 'p:totals', field: 'n', by: 1 }], checkpoint);
    // What a crash half-way through reset('p') leaves behind.
    const redis = new Redis(redisUrl);
    await redis.set(`${keyPrefix}r:p`, '1');
    await redis.quit();

    await expect(store.checkpoint('p')).rejects.toThrow(/reset of p did not finish/);
    await store.reset('p');
    expect(await store.checkpoint('p')).toBeUndefined();
    expect(await keysUnder(keyPrefix)).toEqual([]);
  });
});
