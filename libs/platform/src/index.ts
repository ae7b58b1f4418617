export * from './clock';
export * from './config';
export * from './keyed-mutex';
export * from './recent-map';
export * from './sqlite-schema';
export * from './wal-checkpoints';
export * from './redis-connection';
export * from './seeded-random';
