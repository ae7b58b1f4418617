import type { EachMessagePayload, KafkaMessage, ProducerRecord } from 'kafkajs';
import type { DealEventEnvelope } from '../kafka-envelope';
import { backoffDelay, type ConsumerKafka, DealEventConsumer, type DealEventConsumerOptions, dlqHeaders, InMemorySeenEvents } from './deal-event-consumer';

const topic = 'deal-events';

function envelope(eventId: string, dealId = 'deal-1', revision = 0): DealEventEnvelope {
  return {
    envelopeVersion: 1,
    eventId,
    type: 'Negotiated',
    schemaVersion: 1,
    dealId,
    streamRevision: String(revision),
    globalPosition: `${revision}/${revision}`,
    occurredAt: '2025-03-04T09:00:00.000Z',
    recordedAt: '2025-03-04T09:00:01.000Z',
    data: { round: 1 },
    metadata: { actor: 'alice' },
  };
}

let nextOffset = 0;
function message(value: string | null, key = 'deal-1', headers: KafkaMessage['headers'] = {}): KafkaMessage {
  const offset = String(nextOffset++);
  return { key: Buffer.from(key), value: value === null ? null : Buffer.from(value), headers, offset, timestamp: '0', attributes: 0 };
}

function eventMessage(event: DealEventEnvelope): KafkaMessage {
  return message(JSON.stringify(event), event.dealId, { ce_id: Buffer.from(event.eventId) });
}

/** A stand-in for the kafkajs surface: deliver() plays eachMessage as kafkajs would. */
function fakeKafka() {
  let eachMessage: ((payload: EachMessagePayload) => Promise<void>) | undefined;
  const commits: Array<{ partition: number; offset: string }> = [];
  const sent: ProducerRecord[] = [];
  const calls: string[] = [];
  let sendFails = false;
  const kafka: ConsumerKafka = {
    consumer: (config) => {
      calls.push(`consumer ${config.groupId}`);
      return {
        connect: async () => void calls.push('consumer.connect'),
        subscribe: async () => void calls.push('subscribe'),
        run: async (runConfig) => {
          calls.push(`run autoCommit=${String(runConfig?.autoCommit)}`);
          eachMessage = runConfig!.eachMessage;
        },
        commitOffsets: async (offsets) => void commits.push(...offsets.map(({ partition, offset }) => ({ partition, offset }))),
        disconnect: async () => void calls.push('consumer.disconnect'),
      } as ReturnType<ConsumerKafka['consumer']>;
    },
    producer: () =>
      ({
        connect: async () => void calls.push('producer.connect'),
        send: async (record: ProducerRecord) => {
          if (sendFails) throw new Error('broker away');
          sent.push(record);
          return [];
        },
        disconnect: async () => void calls.push('producer.disconnect'),
      }) as unknown as ReturnType<ConsumerKafka['producer']>,
  };
  return {
    kafka,
    commits,
    sent,
    calls,
    failSends: (fails: boolean) => (sendFails = fails),
    deliver: (msg: KafkaMessage, partition = 0) => eachMessage!({ topic, partition, message: msg, heartbeat: async () => undefined, pause: () => () => undefined }),
  };
}

function setup(options: DealEventConsumerOptions = {}) {
  const fake = fakeKafka();
  const sleeps: number[] = [];
  const handled: string[] = [];
  const consumer = new DealEventConsumer(fake.kafka, { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, log: () => undefined, ...options });
  return { ...fake, consumer, sleeps, handled };
}

beforeEach(() => (nextOffset = 0));

describe('DealEventConsumer', () => {
  it('runs kafkajs with autoCommit off and commits the next offset after each handled message', async () => {
    const { consumer, deliver, commits, calls, handled } = setup();
    await consumer.run({ topic, groupId: 'g', handle: async (event) => void handled.push(event.eventId) });
    expect(calls).toContain('run autoCommit=false');
    await deliver(eventMessage(envelope('e1')));
    await deliver(eventMessage(envelope('e2', 'deal-1', 1)), 0);
    expect(handled).toEqual(['e1', 'e2']);
    expect(commits).toEqual([
      { partition: 0, offset: '1' },
      { partition: 0, offset: '2' },
    ]);
    expect(consumer.stats()).toEqual({ handled: 2, duplicates: 0, retries: 0, deadLettered: 0 });
  });

  it('handles an event id once: a redelivery is skipped and its offset committed', async () => {
    const { consumer, deliver, commits, handled } = setup();
    await consumer.run({ topic, groupId: 'g', handle: async (event) => void handled.push(event.eventId) });
    await deliver(eventMessage(envelope('e1')));
    await deliver(eventMessage(envelope('e1')));
    expect(handled).toEqual(['e1']);
    expect(commits.map((commit) => commit.offset)).toEqual(['1', '2']);
    expect(consumer.stats().duplicates).toBe(1);
  });

  it('retries a failing handler with exponential backoff and jitter, then handles it once', async () => {
    const { consumer, deliver, commits, sleeps, sent } = setup({ retry: { attempts: 5, initialDelayMs: 100, maxDelayMs: 300, factor: 2 } });
    let calls = 0;
    await consumer.run({
      topic,
      groupId: 'g',
      handle: async () => {
        calls += 1;
        if (calls <= 3) throw new Error(`fail ${calls}`);
      },
    });
    await deliver(eventMessage(envelope('e1')));
    expect(calls).toBe(4);
    // random() = 0.5 of bounds 100, 200, min(400, 300).
    expect(sleeps).toEqual([50, 100, 150]);
    expect(sent).toEqual([]);
    expect(commits).toHaveLength(1);
    expect(consumer.stats()).toMatchObject({ handled: 1, retries: 3, deadLettered: 0 });
  });

  it('dead-letters an event after the last attempt, with the original message and the reason, and moves on', async () => {
    const { consumer, deliver, commits, sent, handled } = setup({ retry: { attempts: 3 } });
    await consumer.run({
      topic,
      groupId: 'g',
      handle: async (event) => {
        if (event.eventId === 'bad') throw new Error('cannot handle');
        handled.push(event.eventId);
      },
    });
    const bad = eventMessage(envelope('bad'));
    await deliver(bad, 2);
    await deliver(eventMessage(envelope('good', 'deal-1', 1)), 2);
    expect(handled).toEqual(['good']);
    expect(sent).toHaveLength(1);
    const [record] = sent;
    expect(record!.topic).toBe('deal-events.dlq');
    const [dead] = record!.messages;
    expect(dead!.key).toEqual(bad.key);
    expect(dead!.value).toEqual(bad.value);
    expect(dead!.headers).toMatchObject({
      ce_id: Buffer.from('bad'),
      [dlqHeaders.reason]: 'handler-failed',
      [dlqHeaders.error]: 'cannot handle',
      [dlqHeaders.attempts]: '3',
      [dlqHeaders.topic]: topic,
      [dlqHeaders.partition]: '2',
      [dlqHeaders.offset]: bad.offset,
      [dlqHeaders.groupId]: 'g',
    });
    expect(commits).toEqual([
      { partition: 2, offset: '1' },
      { partition: 2, offset: '2' },
    ]);
    expect(consumer.stats()).toMatchObject({ handled: 1, retries: 2, deadLettered: 1 });
  });

  it('dead-letters a message that is not a deal event without calling the handler', async () => {
    const { consumer, deliver, commits, sent, handled } = setup();
    await consumer.run({ topic, groupId: 'g', handle: async (event) => void handled.push(event.eventId) });
    await deliver(message('not json', 'k', { trace: 'x' }));
    await deliver(message(null));
    expect(handled).toEqual([]);
    expect(sent.map((record) => record.messages[0]!.headers![dlqHeaders.reason])).toEqual(['invalid-envelope', 'invalid-envelope']);
    expect(sent[0]!.messages[0]!.headers).toMatchObject({ trace: 'x', [dlqHeaders.attempts]: '0' });
    expect(String(sent[0]!.messages[0]!.headers![dlqHeaders.error])).toMatch(/not JSON/);
    expect(commits.map((commit) => commit.offset)).toEqual(['1', '2']);
  });

  it('does not commit when the dead-letter topic cannot be written: kafkajs redelivers', async () => {
    const { consumer, deliver, commits, failSends } = setup({ retry: { attempts: 1 } });
    await consumer.run({ topic, groupId: 'g', handle: async () => Promise.reject(new Error('no')) });
    failSends(true);
    await expect(deliver(eventMessage(envelope('e1')))).rejects.toThrow('broker away');
    expect(commits).toEqual([]);
  });

  it('does not mark an event seen when it was dead-lettered, nor when its handler failed', async () => {
    const seen = new InMemorySeenEvents(10);
    const { consumer, deliver } = setup({ seen, retry: { attempts: 2 } });
    await consumer.run({ topic, groupId: 'g', handle: async () => Promise.reject(new Error('no')) });
    await deliver(eventMessage(envelope('e1')));
    expect(seen.has('e1')).toBe(false);
  });

  it('stop() cuts a retry wait short and leaves that message uncommitted', async () => {
    let release!: () => void;
    const { consumer, deliver, commits, sent, calls } = setup({ sleep: () => new Promise<void>((resolve) => (release = resolve)) });
    await consumer.run({ topic, groupId: 'g', handle: async () => Promise.reject(new Error('no')) });
    const delivered = deliver(eventMessage(envelope('e1')));
    await new Promise((resolve) => setImmediate(resolve));
    await consumer.stop();
    await delivered;
    release();
    expect(commits).toEqual([]);
    expect(sent).toEqual([]);
    expect(calls).toEqual(expect.arrayContaining(['consumer.disconnect', 'producer.disconnect']));
  });
});

describe('InMemorySeenEvents', () => {
  it('keeps at most its capacity, dropping the least recently used', () => {
    const seen = new InMemorySeenEvents(2);
    seen.add('a');
    seen.add('b');
    expect(seen.has('a')).toBe(true); // a is now more recent than b
    seen.add('c');
    expect(seen.size).toBe(2);
    expect(seen.has('b')).toBe(false);
    expect(seen.has('a')).toBe(true);
    expect(seen.has('c')).toBe(true);
  });
});

describe('backoffDelay', () => {
  const options = { attempts: 10, initialDelayMs: 100, maxDelayMs: 1_000, factor: 2 };
  it('grows exponentially up to the cap, scaled by the jitter', () => {
    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelay(retry, options, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(3, options, () => 0)).toBe(0);
  });
});
