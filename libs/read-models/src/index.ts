export * from './read-model-store.port';
export * from './change-set';
export { counterFields, countLimit, frozenDocument, type NetChanges, netChanges, nonNegativeInteger, rangeOffset, roundCounter, unionScoresOneByOne, validCheckpoint } from './adapter-rules';
export * from './embedded/embedded-read-model-store';
export * from './redis/redis-read-model-store';
