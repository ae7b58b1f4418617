export * from './event-store.port';
export * from './embedded/embedded-event-store';
export * from './esdb/esdb-event-store';
