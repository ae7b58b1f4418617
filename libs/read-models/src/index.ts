export * from './read-model-store.port';
export * from './change-set';
export * from './embedded/embedded-read-model-store';
export * from './redis/redis-read-model-store';
