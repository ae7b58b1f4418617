export * from './read-model-store-conformance';
export * from './redis-test-support';
