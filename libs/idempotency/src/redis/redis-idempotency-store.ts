import { connectRedis } from '@deals/platform';
import type { Redis } from 'ioredis';
import { type ClaimResult, type IdempotencyClaim, type IdempotencyStore, idempotencyKeyTtlMs } from '../idempotency-store.port';

export interface RedisIdempotencyStoreOptions {
  /** Starts every key, so that tests (or two deployments) share one Redis. Default 'idempotency:'. */
  readonly keyPrefix?: string;
  /** The store's clock, in ms since the epoch. Default Date.now. */
  readonly now?: () => number;
}

/**
 * Check and claim in one step on the server, so that two API instances racing for one key see one
 * winner. A claim older than the TTL by the caller's clock counts as free (as in the embedded store);
 * PEXPIRE only lets Redis drop it once nobody can ask for it any more.
 *
 * KEYS[1] the claim; ARGV: requestHash, dealId, commandId, created, oldest created still held, TTL ms.
 */
const claimIfFree = `
local held = redis.call('HMGET', KEYS[1], 'requestHash', 'dealId', 'commandId', 'created')
if held[1] and tonumber(held[4]) >= tonumber(ARGV[5]) then return { held[1], held[2], held[3] } end
redis.call('HSET', KEYS[1], 'requestHash', ARGV[1], 'dealId', ARGV[2], 'commandId', ARGV[3], 'created', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return false
`;

/**
 * Claims in Redis, shared by every API instance of a deployment. Durability follows the server's
 * persistence settings; as with the embedded store, a lost claim is harmless because command and deal
 * ids derive from the key, so a retry still finds its first outcome in the deal's stream.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly prefix: string;
  private readonly now: () => number;

  private constructor(
    private readonly redis: Redis,
    options: RedisIdempotencyStoreOptions,
  ) {
    this.prefix = options.keyPrefix ?? 'idempotency:';
    this.now = options.now ?? Date.now;
  }

  /** Connects, or rejects when Redis cannot be reached. */
  static async connect(url: string, options: RedisIdempotencyStoreOptions = {}): Promise<RedisIdempotencyStore> {
    return new RedisIdempotencyStore(await connectRedis(url), options);
  }

  async claim(scope: string, key: string, claim: IdempotencyClaim): Promise<ClaimResult> {
    const now = this.now();
    const reply: unknown = await this.redis.eval(
      claimIfFree,
      1,
      this.key(scope, key),
      claim.requestHash,
      claim.dealId,
      claim.commandId,
      String(now),
      String(now - idempotencyKeyTtlMs),
      String(idempotencyKeyTtlMs),
    );
    if (reply === null) return { claim, created: true };
    if (!Array.isArray(reply) || reply.length !== 3 || !reply.every((field): field is string => typeof field === 'string')) {
      throw new Error(`Idempotency claim ${scope}/${key} in Redis is malformed: ${JSON.stringify(reply)}`);
    }
    const [requestHash, dealId, commandId] = reply as [string, string, string];
    return { claim: { requestHash, dealId, commandId }, created: false };
  }

  async close(): Promise<void> {
    if (this.redis.status !== 'end') await this.redis.quit();
  }

  /** The scope is URI-encoded so that no scope and key pair can spell another's. */
  private key(scope: string, key: string): string {
    return `${this.prefix}${encodeURIComponent(scope)}:${key}`;
  }
}
