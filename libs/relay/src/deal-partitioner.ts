import { type ICustomPartitioner, Partitioners } from 'kafkajs';

/** Keys remembered per topic and partition count; a deal's events come in bursts, so few are needed. */
const remembered = 50_000;

/**
 * kafkajs's default partitioner (murmur2 of the key, as the Java client), remembering the answer per
 * key: it hashes each message's key and copies the partition list for every message, a few percent
 * of the relay's CPU in the profile. The same key and partition count always give the same partition.
 */
export const dealPartitioner: ICustomPartitioner = () => {
  const partition = Partitioners.DefaultPartitioner();
  const cache = new Map<string, number>();
  return (args) => {
    const { topic, partitionMetadata, message } = args;
    if (typeof message.key !== 'string' || (message.partition !== undefined && message.partition !== null)) return partition(args);
    const cacheKey = `${topic}\u0000${partitionMetadata.length}\u0000${message.key}`;
    let chosen = cache.get(cacheKey);
    if (chosen === undefined) {
      chosen = partition(args);
      if (cache.size >= remembered) cache.clear();
      cache.set(cacheKey, chosen);
    }
    return chosen;
  };
};
