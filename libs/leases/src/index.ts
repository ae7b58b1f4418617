export * from './lease-store.port';
export * from './embedded/embedded-lease-store';
export * from './redis/redis-lease-store';
export * from './leader-election';
export * from './fenced-read-model-store';
