import { connectRedis } from '@deals/platform';
import type { Redis } from 'ioredis';
import { checkLeaseArguments, type LeaseStore } from '../lease-store.port';

export interface RedisLeaseStoreOptions {
  /** Default `deals:lease:`. */
  readonly keyPrefix?: string;
}

/** Extends the key's TTL only if it still holds our token (compare-and-renew in one step). */
const renewScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/** Deletes the key only if it still holds our token. */
const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * Leases as Redis keys: SET NX PX takes a free one, Lua scripts renew and release only while the key
 * holds the caller's token. Redis expires the key by its own clock.
 */
export class RedisLeaseStore implements LeaseStore {
  private constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  static async connect(url: string, options: RedisLeaseStoreOptions = {}): Promise<RedisLeaseStore> {
    const redis = await connectRedis(url);
    redis.on('error', () => {
      // Reported by the commands that fail; without a listener ioredis would print every reconnect attempt.
    });
    return new RedisLeaseStore(redis, options.keyPrefix ?? 'deals:lease:');
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkLeaseArguments(name, owner, ttlMs);
    if ((await this.redis.set(this.key(name), owner, 'PX', ttlMs, 'NX')) === 'OK') return true;
    return this.renew(name, owner, ttlMs);
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkLeaseArguments(name, owner, ttlMs);
    return Number(await this.redis.eval(renewScript, 1, this.key(name), owner, String(ttlMs))) === 1;
  }

  async release(name: string, owner: string): Promise<boolean> {
    checkLeaseArguments(name, owner);
    return Number(await this.redis.eval(releaseScript, 1, this.key(name), owner)) === 1;
  }

  async holder(name: string): Promise<string | undefined> {
    checkLeaseArguments(name, undefined);
    return (await this.redis.get(this.key(name))) ?? undefined;
  }

  async close(): Promise<void> {
    if (this.redis.status !== 'end') await this.redis.quit();
  }

  private key(name: string): string {
    return `${this.keyPrefix}${name}`;
  }
}
