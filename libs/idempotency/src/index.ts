export * from './idempotency-store.port';
export * from './embedded/embedded-idempotency-store';
export * from './redis/redis-idempotency-store';
