import { randomUUID } from 'node:crypto';
import { type PartitionerArgs, Partitioners } from 'kafkajs';
import { dealPartitioner } from './deal-partitioner';

function args(key: string, partitions: number, topic = 'deals'): PartitionerArgs {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
  return { topic, partitionMetadata, message: { key, value: '{}' } };
}

describe('dealPartitioner', () => {
  it("chooses kafkajs's default partition for every key, asked once or again, for any partition count", () => {
    const ours = dealPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    const keys = Array.from({ length: 500 }, () => randomUUID());
    for (const partitions of [1, 3, 12]) {
      for (const key of [...keys, ...keys]) expect(ours(args(key, partitions))).toBe(theirs(args(key, partitions)));
    }
  });

  it('keeps an explicit partition', () => {
    expect(dealPartitioner()({ ...args('deal-1', 3), message: { key: 'deal-1', value: '{}', partition: 2 } })).toBe(2);
  });
});
