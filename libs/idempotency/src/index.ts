export * from './idempotency-store.port';
export * from './embedded/embedded-idempotency-store';
