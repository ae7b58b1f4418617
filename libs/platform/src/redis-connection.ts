import { Redis } from 'ioredis';

/**
 * Connects to Redis, or rejects at once (naming the server, without its password) when it cannot be
 * reached: a wrong REDIS_URL stops the process at start. Once connected, the client reconnects with
 * a capped backoff.
 */
export async function connectRedis(url: string): Promise<Redis> {
  let connected = false;
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => (connected ? Math.min(attempt * 100, 2_000) : null),
  });
  let cause: unknown;
  const noteCause = (error: unknown) => (cause ??= error);
  redis.on('error', noteCause);
  try {
    await redis.connect();
  } catch (error) {
    const reason = cause ?? error;
    throw new Error(`Cannot reach Redis at ${redactRedisUrl(url)}: ${String(reason)}`, { cause: reason });
  } finally {
    redis.off('error', noteCause);
  }
  connected = true;
  return redis;
}

/** The URL without its user and password, for messages and logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}
