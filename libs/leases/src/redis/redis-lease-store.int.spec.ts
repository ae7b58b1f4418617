import { randomUUID } from 'node:crypto';
import { describeWithRedis, testRedisUrl, unlinkPrefix } from '@deals/read-models/testing';
import { leaseStoreConformance } from '../testing/lease-store-conformance';
import { RedisLeaseStore } from './redis-lease-store';

describeWithRedis('RedisLeaseStore', () => {
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const prefix of prefixes) await unlinkPrefix(prefix);
  });

  leaseStoreConformance({
    async open() {
      const keyPrefix = `test:lease:${randomUUID()}:`;
      prefixes.push(keyPrefix);
      return {
        store: await RedisLeaseStore.connect(testRedisUrl, { keyPrefix }),
        other: () => RedisLeaseStore.connect(testRedisUrl, { keyPrefix }),
      };
    },
  });

  it('rejects at connect when no server answers', async () => {
    await expect(RedisLeaseStore.connect('redis://127.0.0.1:1')).rejects.toThrow();
  });
});
