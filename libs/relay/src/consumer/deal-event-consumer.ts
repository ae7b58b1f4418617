/**
 * A consumer helper for downstream services reading the deal-event topic. See docs/kafka.md,
 * "Consuming deal events".
 *
 * - Every message is parsed with fromKafkaMessage; one that does not parse goes straight to the
 *   dead-letter topic `<topic>.dlq` (original key, value and headers, plus `dlq_*` headers saying why).
 * - `handle` is called with retries and exponential backoff with full jitter; after the last failed
 *   attempt the message is dead-lettered and the consumer moves on.
 * - Offsets are committed by hand (autoCommit off), one message at a time, only after the message was
 *   handled, skipped as a duplicate, or dead-lettered: a crash redelivers, never skips.
 * - Duplicates (same eventId) are dropped through a `SeenEvents` store. The default is an in-memory LRU
 *   (bounded): it drops the duplicates of a relay republish or a rebalance, but forgets on restart.
 *   Exactly-once effects need a durable store written in the same transaction as the handler's effect.
 * - Messages of a partition are handled one at a time, in order (a retried message holds its partition
 *   back), so each deal's events are handled in order.
 */
import { RecentMap } from '@deals/platform';
import type { Consumer, ConsumerConfig, IHeaders, KafkaMessage, Message, Producer, ProducerConfig } from 'kafkajs';
import { type DealEventEnvelope, fromKafkaMessage, InvalidEnvelopeError } from '../kafka-envelope';

/** Remembers which event ids were handled. */
export interface SeenEvents {
  has(eventId: string): Promise<boolean> | boolean;
  /** Called after `handle` succeeded for the event. */
  add(eventId: string): Promise<void> | void;
}

/**
 * The default SeenEvents: in memory, at least the `capacity` most recently seen event ids (a
 * sixteenth more at most), the least recently seen dropped first.
 */
export class InMemorySeenEvents implements SeenEvents {
  private readonly ids: RecentMap<string, true>;

  constructor(readonly capacity = 10_000) {
    this.ids = new RecentMap(capacity);
  }

  has(eventId: string): boolean {
    if (!this.ids.has(eventId)) return false;
    this.ids.set(eventId, true);
    return true;
  }

  add(eventId: string): void {
    this.ids.set(eventId, true);
  }

  get size(): number {
    return this.ids.size;
  }
}

/** The part of kafkajs's Kafka the helper uses (a real `Kafka` fits; unit tests pass a stand-in). */
export interface ConsumerKafka {
  consumer(config: ConsumerConfig): Pick<Consumer, 'connect' | 'subscribe' | 'run' | 'commitOffsets' | 'disconnect'>;
  producer(config?: ProducerConfig): Pick<Producer, 'connect' | 'send' | 'disconnect'>;
}

export interface RetryOptions {
  /** Calls of `handle` per message, the first included. Default 5. */
  readonly attempts?: number;
  /** Upper bound of the wait before the first retry. Default 200 ms. */
  readonly initialDelayMs?: number;
  /** Upper bound of any wait. Default 30,000 ms. */
  readonly maxDelayMs?: number;
  /** Growth of the bound per retry. Default 2. */
  readonly factor?: number;
}

export interface DealEventConsumerOptions {
  readonly retry?: RetryOptions;
  /** Default: a new InMemorySeenEvents(10_000) per consumer. */
  readonly seen?: SeenEvents;
  /** For a group without committed offsets: read the topic from its start (default true) or only new messages. */
  readonly fromBeginning?: boolean;
  /** Where failures are reported. Default console.error. */
  readonly log?: (message: string) => void;
  /** Injectable for tests. Default setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injectable for tests: a number in [0, 1). Default Math.random. */
  readonly random?: () => number;
  /** Extra kafkajs consumer settings (groupId and autoCommit are the helper's). */
  readonly consumerConfig?: Omit<ConsumerConfig, 'groupId'>;
}

export interface DealEventConsumerRun {
  readonly topic: string;
  readonly groupId: string;
  readonly handle: (envelope: DealEventEnvelope) => Promise<void>;
}

export interface DealEventConsumerStats {
  readonly handled: number;
  readonly duplicates: number;
  readonly retries: number;
  readonly deadLettered: number;
}

/** Headers the helper adds to a dead-lettered message. */
export const dlqHeaders = {
  /** `invalid-envelope` or `handler-failed`. */
  reason: 'dlq_reason',
  /** The error's message. */
  error: 'dlq_error',
  /** Calls of `handle` made (0 for an invalid envelope). */
  attempts: 'dlq_attempts',
  topic: 'dlq_original_topic',
  partition: 'dlq_original_partition',
  offset: 'dlq_original_offset',
  groupId: 'dlq_group_id',
  /** ISO 8601. */
  failedAt: 'dlq_failed_at',
} as const;

export type DeadLetterReason = 'invalid-envelope' | 'handler-failed';

export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/**
 * The wait before retry `retry` (1 for the first retry): full jitter, uniform in
 * [0, min(maxDelayMs, initialDelayMs * factor^(retry-1))).
 */
export function backoffDelay(retry: number, options: Required<RetryOptions>, random: () => number): number {
  const bound = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** (retry - 1));
  return Math.floor(random() * bound);
}

const defaultRetry: Required<RetryOptions> = { attempts: 5, initialDelayMs: 200, maxDelayMs: 30_000, factor: 2 };

class Stopping extends Error {}

export class DealEventConsumer {
  private readonly retry: Required<RetryOptions>;
  private readonly seen: SeenEvents;
  private readonly log: (message: string) => void;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private consumer: ReturnType<ConsumerKafka['consumer']> | undefined;
  private producer: ReturnType<ConsumerKafka['producer']> | undefined;
  private stopping = false;
  private wakeSleepers: Array<() => void> = [];
  private counts = { handled: 0, duplicates: 0, retries: 0, deadLettered: 0 };

  constructor(
    private readonly kafka: ConsumerKafka,
    private readonly options: DealEventConsumerOptions = {},
  ) {
    this.retry = { ...defaultRetry, ...options.retry };
    if (!Number.isSafeInteger(this.retry.attempts) || this.retry.attempts < 1) throw new RangeError(`retry.attempts must be a positive integer, got ${this.retry.attempts}`);
    if (!(this.retry.initialDelayMs >= 0) || !(this.retry.maxDelayMs >= 0) || !(this.retry.factor >= 1)) throw new RangeError('retry delays must not be negative and factor must be at least 1');
    this.seen = options.seen ?? new InMemorySeenEvents();
    this.log = options.log ?? ((message) => console.error(message));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  /** Connects, subscribes and starts handling; resolves once the consumer runs. */
  async run({ topic, groupId, handle }: DealEventConsumerRun): Promise<void> {
    if (this.consumer) throw new Error('This DealEventConsumer already runs');
    this.stopping = false;
    const consumer = this.kafka.consumer({ ...this.options.consumerConfig, groupId });
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.consumer = consumer;
    this.producer = producer;
    try {
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: this.options.fromBeginning ?? true });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 1,
        eachMessage: async ({ topic: from, partition, message }) => {
          try {
            await this.process(from, partition, message, groupId, handle);
          } catch (error) {
            // Stopping mid-retry: the offset stays uncommitted, the message comes again after a restart.
            if (error instanceof Stopping) return;
            throw error;
          }
          await consumer.commitOffsets([{ topic: from, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
        },
      });
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Graceful: waits for the message in hand (a retry's wait is cut short and that message left uncommitted), then disconnects. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.wakeSleepers.splice(0)) wake();
    const consumer = this.consumer;
    const producer = this.producer;
    this.consumer = undefined;
    this.producer = undefined;
    await consumer?.disconnect().catch((error: unknown) => this.log(`Disconnecting the deal-event consumer failed: ${String(error)}`));
    await producer?.disconnect().catch((error: unknown) => this.log(`Disconnecting the dead-letter producer failed: ${String(error)}`));
  }

  stats(): DealEventConsumerStats {
    return { ...this.counts };
  }

  /** Handles one message; resolves when its offset may be committed. */
  private async process(topic: string, partition: number, message: KafkaMessage, groupId: string, handle: DealEventConsumerRun['handle']): Promise<void> {
    let envelope: DealEventEnvelope;
    try {
      envelope = fromKafkaMessage(message);
    } catch (error) {
      if (!(error instanceof InvalidEnvelopeError)) throw error;
      this.log(`Deal-event consumer: ${topic}/${partition}@${message.offset} is not a deal event (${error.message}); dead-lettered`);
      await this.deadLetter(topic, partition, message, groupId, 'invalid-envelope', error, 0);
      return;
    }
    if (await this.seen.has(envelope.eventId)) {
      this.counts.duplicates += 1;
      return;
    }
    for (let attempt = 1; ; attempt += 1) {
      if (this.stopping) throw new Stopping();
      try {
        await handle(envelope);
      } catch (error) {
        if (attempt >= this.retry.attempts) {
          this.log(`Deal-event consumer: event ${envelope.eventId} (${topic}/${partition}@${message.offset}) failed ${attempt} times: ${String(error)}; dead-lettered`);
          await this.deadLetter(topic, partition, message, groupId, 'handler-failed', error, attempt);
          return;
        }
        this.counts.retries += 1;
        await this.wait(backoffDelay(attempt, this.retry, this.random));
        continue;
      }
      await this.seen.add(envelope.eventId);
      this.counts.handled += 1;
      return;
    }
  }

  private async wait(ms: number): Promise<void> {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    this.wakeSleepers.push(wake);
    try {
      await Promise.race([this.sleep(ms), woken]);
    } finally {
      this.wakeSleepers = this.wakeSleepers.filter((other) => other !== wake);
    }
    if (this.stopping) throw new Stopping();
  }

  private async deadLetter(topic: string, partition: number, message: KafkaMessage, groupId: string, reason: DeadLetterReason, error: unknown, attempts: number): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new Stopping();
    const headers: IHeaders = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) if (value !== undefined) headers[name] = value;
    Object.assign(headers, {
      [dlqHeaders.reason]: reason,
      [dlqHeaders.error]: error instanceof Error ? error.message : String(error),
      [dlqHeaders.attempts]: String(attempts),
      [dlqHeaders.topic]: topic,
      [dlqHeaders.partition]: String(partition),
      [dlqHeaders.offset]: message.offset,
      [dlqHeaders.groupId]: groupId,
      [dlqHeaders.failedAt]: new Date().toISOString(),
    });
    const dead: Message = { key: message.key, value: message.value, headers };
    await producer.send({ topic: deadLetterTopic(topic), acks: -1, messages: [dead] });
    this.counts.deadLettered += 1;
  }
}
