import { DealEventReader, dealStreamLag, dealStreamPrefix } from '@deals/deal-streams';
import { batches, type EventStore, formatPosition, type RecordedEvent, type Subscription } from '@deals/event-store';
import type { Kafka, Message, Producer } from 'kafkajs';
import { dealPartitioner } from './deal-partitioner';
import { toKafkaMessage } from './kafka-envelope';
import type { RelayCheckpoint, RelayCheckpointStore } from './relay-checkpoint-store';

export interface KafkaRelayOptions {
  readonly topic: string;
  /** Events per producer.send. Default 500. */
  readonly batchSize?: number;
  /** Send a partial batch once its first event has waited this long. Default 20. */
  readonly maxBatchDelayMs?: number;
  readonly reader?: DealEventReader;
  /**
   * How long stop() waits for a send in flight (kafkajs retries an idempotent send without end while
   * the broker is away) before giving it up, unacknowledged: its events go out again after a restart.
   * Default 10,000.
   */
  readonly stopTimeoutMs?: number;
  /** Where a failure is reported. Default console.error. */
  readonly log?: (message: string) => void;
  /**
   * After the broker failed a connect or a send, the relay waits this long before it resumes from its
   * checkpoint with a new producer, doubling the wait per failure in a row up to `retryMaxDelayMs`.
   * Default 500.
   */
  readonly retryInitialDelayMs?: number;
  /** Default 10,000. */
  readonly retryMaxDelayMs?: number;
}

export interface KafkaRelayStatus {
  readonly topic: string;
  /** The checkpoint (formatPosition): the last event the broker acknowledged; null before the first. */
  readonly position: string | null;
  readonly eventsPublished: number;
  readonly lastRecordedAt: string | null;
  /** Deal events in the store not acknowledged by the broker yet: exact in the embedded store, an estimate in EventStoreDB. */
  readonly lagEvents: number;
  /** Age of the oldest deal event not acknowledged yet, in ms; 0 when caught up. */
  readonly lagMs: number;
  readonly caughtUp: boolean;
  readonly running: boolean;
  /** Why the relay stopped. */
  readonly error?: string;
  /** While running: the broker failure it is recovering from, until a batch is acknowledged again. */
  readonly lastFailure?: string;
}

/** Settings the relay's guarantees rest on; see docs/kafka.md. */
export const relayProducerConfig = {
  /** The broker drops a retried batch it already has: retries create no duplicates and keep order. */
  idempotent: true,
  /** One request in flight: with one send at a time from the relay this is what happens anyway. */
  maxInFlightRequests: 1,
  /** The default partitioner (a deal's events share a partition), remembering each key's answer. */
  createPartitioner: dealPartitioner,
} as const;

const defaultBatchSize = 500;
const defaultMaxBatchDelayMs = 20;
const defaultStopTimeoutMs = 10_000;
const defaultRetryInitialDelayMs = 500;
const defaultRetryMaxDelayMs = 10_000;

/** Thrown inside the loop when stop() gave up the send in flight. */
class SendAbandoned extends Error {}

/** The broker could not be reached or refused a send: the relay resumes from its checkpoint. */
class BrokerFailed extends Error {}

/**
 * Publishes every deal event to a Kafka topic, keyed by deal id, from its checkpoint on. Each batch
 * is sent with acks=all by an idempotent producer, and the checkpoint moves to the batch's last event
 * only once the send resolved: at least once, never skipped. A crash republishes at most the batch
 * acknowledged but not yet checkpointed and the one in flight (same event ids).
 *
 * When the broker fails a connect or a send (after kafkajs's own retries), the relay drops its producer,
 * waits with a growing backoff and resumes from its checkpoint with a new one: the unacknowledged
 * batch goes out again (at least once). Any other failure (the event store, the checkpoint store, an
 * event it cannot read) stops it, with the error in its status.
 *
 * Run one relay per topic and checkpoint: two would publish every event twice.
 */
export class KafkaRelay {
  private readonly batchSize: number;
  private readonly maxBatchDelayMs: number;
  private readonly reader: DealEventReader;
  private readonly stopTimeoutMs: number;
  private readonly log: (message: string) => void;
  private readonly retryInitialDelayMs: number;
  private readonly retryMaxDelayMs: number;
  /**
   * Waits that stop() cuts short: the wait for an acknowledgement once stopTimeoutMs elapsed, a pause
   * before a retry at once. Each removes itself when it ends: a reaction on a promise that never
   * settles would keep every batch alive for the relay's whole life.
   */
  private readonly onAbandon = new Set<() => void>();
  private readonly onStop = new Set<() => void>();
  private abandoned = false;

  private running: Promise<void> | undefined;
  private subscription: Subscription | undefined;
  private stopRequested = false;
  private failure: Error | undefined;
  private lastFailure: string | undefined;
  /** Broker failures since the last acknowledged batch. */
  private failuresInARow = 0;
  /** Fired at each checkpoint and when the loop ends. */
  private changed = signal();

  constructor(
    private readonly eventStore: EventStore,
    private readonly kafka: Kafka,
    private readonly checkpoints: RelayCheckpointStore,
    private readonly options: KafkaRelayOptions,
  ) {
    this.batchSize = options.batchSize ?? defaultBatchSize;
    if (!Number.isSafeInteger(this.batchSize) || this.batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${this.batchSize}`);
    this.maxBatchDelayMs = options.maxBatchDelayMs ?? defaultMaxBatchDelayMs;
    if (!(this.maxBatchDelayMs >= 0)) throw new RangeError(`maxBatchDelayMs must not be negative, got ${this.maxBatchDelayMs}`);
    this.stopTimeoutMs = options.stopTimeoutMs ?? defaultStopTimeoutMs;
    this.reader = options.reader ?? new DealEventReader();
    this.log = options.log ?? ((message) => console.error(message));
    this.retryInitialDelayMs = options.retryInitialDelayMs ?? defaultRetryInitialDelayMs;
    this.retryMaxDelayMs = options.retryMaxDelayMs ?? defaultRetryMaxDelayMs;
    if (!(this.retryInitialDelayMs >= 0) || !(this.retryMaxDelayMs >= this.retryInitialDelayMs)) {
      throw new RangeError(`retry delays must satisfy 0 <= retryInitialDelayMs <= retryMaxDelayMs, got ${this.retryInitialDelayMs} and ${this.retryMaxDelayMs}`);
    }
  }

  /** Connects the producer, then publishes from the checkpoint on, catching up and following live appends, until stop(). */
  start(): void {
    if (this.running) return;
    this.failure = undefined;
    this.lastFailure = undefined;
    this.failuresInARow = 0;
    this.stopRequested = false;
    this.abandoned = false;
    this.running = this.run().finally(() => {
      this.running = undefined;
      this.notify();
    });
  }

  /**
   * Graceful: sends the batch in hand and moves the checkpoint, then disconnects. A send still not
   * acknowledged after `stopTimeoutMs` is given up and the checkpoint stays before it.
   */
  async stop(): Promise<void> {
    this.stopRequested = true;
    for (const wake of this.onStop) wake();
    await this.subscription?.close();
    const running = this.running;
    if (running === undefined) return;
    const timer = setTimeout(() => {
      this.abandoned = true;
      for (const abandon of this.onAbandon) abandon();
    }, this.stopTimeoutMs);
    try {
      await running;
    } finally {
      clearTimeout(timer);
    }
  }

  async status(): Promise<KafkaRelayStatus> {
    const checkpoint = await this.checkpoints.load();
    const { lagEvents, lagMs, caughtUp } = await dealStreamLag(this.eventStore, checkpoint?.position, Date.now());
    return {
      topic: this.options.topic,
      position: checkpoint ? formatPosition(checkpoint.position) : null,
      eventsPublished: checkpoint?.eventsProcessed ?? 0,
      lastRecordedAt: checkpoint?.lastRecordedAt ?? null,
      lagEvents,
      lagMs,
      caughtUp,
      running: this.running !== undefined,
      ...(this.failure ? { error: this.failure.message } : {}),
      ...(this.running !== undefined && this.lastFailure !== undefined ? { lastFailure: this.lastFailure } : {}),
    };
  }

  /** Resolves once the relay has published this many events in all (per its checkpoint), or rejects when it stopped. */
  async waitForPublished(events: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const changed = this.changed.promise;
      const checkpoint = await this.checkpoints.load();
      if ((checkpoint?.eventsProcessed ?? 0) >= events) return;
      if (this.failure) throw this.failure;
      if (this.running === undefined) throw new Error('The relay is not running');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`The relay published ${checkpoint?.eventsProcessed ?? 0} of ${events} events within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([changed, new Promise((resolve) => (timer = setTimeout(resolve, Math.min(left, 100))))]);
      clearTimeout(timer);
    }
  }

  private async run(): Promise<void> {
    try {
      while (!this.stopRequested) {
        try {
          await this.session();
          return;
        } catch (error) {
          if (!(error instanceof BrokerFailed) || this.stopRequested) throw error;
          this.failuresInARow += 1;
          this.lastFailure = error.message;
          const delay = Math.min(this.retryMaxDelayMs, this.retryInitialDelayMs * 2 ** (this.failuresInARow - 1));
          this.log(`Kafka relay to ${this.options.topic}: ${error.message}; resuming from its checkpoint in ${delay} ms`);
          await this.pause(delay);
        }
      }
    } catch (error) {
      if (error instanceof SendAbandoned || error instanceof BrokerFailed) {
        this.log(`Kafka relay to ${this.options.topic} stopped with a send unacknowledged (${error.message}); it is sent again on restart`);
        return;
      }
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.log(`Kafka relay to ${this.options.topic} stopped: ${this.failure.stack ?? this.failure.message}`);
    }
  }

  /**
   * One producer's life: connects, publishes from the checkpoint on until stop() closes the
   * subscription, or until a failure ends it. A new producer per session, so a retried batch never
   * meets the idempotence state (producer id, sequence numbers) of a send whose outcome is unknown.
   */
  private async session(): Promise<void> {
    const producer = this.kafka.producer({ ...relayProducerConfig, allowAutoTopicCreation: false });
    let subscription: Subscription | undefined;
    try {
      await producer.connect().catch((error: unknown) => {
        throw new BrokerFailed(`connecting the producer failed: ${messageOf(error)}`, { cause: error });
      });
      let checkpoint = await this.checkpoints.load();
      if (this.stopRequested) return;
      subscription = this.eventStore.subscribeToAll({ fromPosition: checkpoint?.position ?? 'start', streamPrefixes: [dealStreamPrefix] });
      this.subscription = subscription;
      // Closed by stop(): the batch in hand comes last and is published before the loop ends.
      const incoming = batches(subscription, { size: this.batchSize, maxDelayMs: () => this.maxBatchDelayMs })[Symbol.asyncIterator]();
      // One send in flight at a time (the idempotent producer's order rests on it), but the next batch
      // is read and encoded while the broker works on the one in flight.
      let inFlight: InFlight | undefined;
      let next = incoming.next();
      for (;;) {
        if (inFlight && (await Promise.race([next.then(() => false), inFlight.settled.then(() => true)]))) {
          checkpoint = await this.acknowledged(inFlight, checkpoint);
          inFlight = undefined;
        }
        const { done, value: batch } = await next;
        if (done) break;
        const messages = this.toMessages(batch);
        if (inFlight) checkpoint = await this.acknowledged(inFlight, checkpoint);
        inFlight = this.send(producer, batch, messages);
        next = incoming.next();
      }
      if (inFlight) checkpoint = await this.acknowledged(inFlight, checkpoint);
    } finally {
      this.subscription = undefined;
      await subscription?.close().catch((error: unknown) => this.log(`Closing the relay's subscription failed: ${String(error)}`));
      await producer.disconnect().catch((error: unknown) => this.log(`Disconnecting the relay's producer failed: ${String(error)}`));
    }
  }

  /** Waits `ms`, or less when stop() is called. */
  private async pause(ms: number): Promise<void> {
    if (this.stopRequested) return;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.onStop.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.onStop.add(wake);
    });
  }

  private toMessages(batch: readonly RecordedEvent[]): Message[] {
    return batch.map((recorded) => {
      const message = toKafkaMessage(this.reader.read(recorded));
      return { key: message.key, value: message.value, headers: message.headers };
    });
  }

  private send(producer: Producer, batch: readonly RecordedEvent[], messages: Message[]): InFlight {
    const sent = producer.send({ topic: this.options.topic, acks: -1, messages });
    return {
      batch,
      sent,
      // Also handles a failure nobody awaits any more: a send given up by stop() settles (or fails)
      // once the producer disconnects, and what it did is superseded by the restart.
      settled: sent.then(
        () => undefined,
        () => undefined,
      ),
    };
  }

  /** Waits for the broker to acknowledge the send in flight, then moves the checkpoint to its last event. */
  private async acknowledged({ batch, sent }: InFlight, previous: RelayCheckpoint | undefined): Promise<RelayCheckpoint | undefined> {
    const last = batch[batch.length - 1];
    if (last === undefined) return previous;
    await new Promise<void>((resolve, reject) => {
      const abandon = () => reject(new SendAbandoned(`given up after ${this.stopTimeoutMs} ms`));
      if (this.abandoned) return abandon();
      this.onAbandon.add(abandon);
      sent
        .then(() => resolve(), (error: unknown) => reject(new BrokerFailed(`a send of ${batch.length} events failed: ${messageOf(error)}`, { cause: error })))
        .finally(() => this.onAbandon.delete(abandon));
    });
    const checkpoint: RelayCheckpoint = {
      position: last.position,
      eventsProcessed: (previous?.eventsProcessed ?? 0) + batch.length,
      lastRecordedAt: last.created.toISOString(),
    };
    await this.checkpoints.save(checkpoint);
    this.failuresInARow = 0;
    this.lastFailure = undefined;
    this.notify();
    return checkpoint;
  }

  private notify(): void {
    this.changed.fire();
    this.changed = signal();
  }
}

/** A batch handed to the producer, not yet acknowledged. */
interface InFlight {
  readonly batch: readonly RecordedEvent[];
  readonly sent: Promise<unknown>;
  /** Resolves when the send succeeds or fails. */
  readonly settled: Promise<void>;
}

interface Signal {
  readonly promise: Promise<void>;
  readonly fire: () => void;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function signal(): Signal {
  let fire = () => {};
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

