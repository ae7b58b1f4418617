export * from './event-store.port';
export * from './batches';
export * from './embedded/embedded-event-store';
export * from './esdb/esdb-event-store';
