/**
 * The EventStoreDB adapter, through @eventstore/db-client 6.x. Everything this adapter needs from the
 * client library goes through `EsdbClientSurface` and the few imports below, so that moving to
 * @kurrent/kurrentdb-client is a change to this one file (and the unit tests fake only that surface).
 * Revisions and positions are bigints from the client to the caller; nothing here goes through Number.
 */
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  MaxAppendSizeExceededError,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  streamNameFilter,
} from '@eventstore/db-client';
import type {
  AllStreamResolvedEvent,
  AppendExpectedRevision,
  AppendToStreamOptions as ClientAppendOptions,
  AppendResult as ClientAppendResult,
  EventData,
  JSONType,
  ReadAllOptions as ClientReadAllOptions,
  ReadStreamOptions as ClientReadStreamOptions,
  ResolvedEvent,
  SubscribeToAllOptions as ClientSubscribeToAllOptions,
} from '@eventstore/db-client';
import {
  AppendResult,
  AppendTooLargeError,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  IdempotencyViolationError,
  JsonObject,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeToAllOptions,
  Subscription,
  WrongExpectedRevisionError,
  comparePositions,
  maxAppendBytes,
} from '../event-store.port';

/** A catch-up subscription of the client: an async iterable of resolved events that can be ended. */
export interface EsdbSubscriptionSurface extends AsyncIterable<AllStreamResolvedEvent> {
  unsubscribe(): Promise<void>;
}

/** Exactly the part of the client library's `EventStoreDBClient` this adapter uses. */
export interface EsdbClientSurface {
  appendToStream(streamName: string, events: EventData[], options?: ClientAppendOptions): Promise<ClientAppendResult>;
  readStream(streamName: string, options?: ClientReadStreamOptions): AsyncIterable<ResolvedEvent>;
  readAll(options?: ClientReadAllOptions): AsyncIterable<AllStreamResolvedEvent>;
  subscribeToAll(options?: ClientSubscribeToAllOptions): EsdbSubscriptionSurface;
  dispose(): Promise<void>;
}

export interface EsdbReconnectOptions {
  /** Delay before the first resubscription after a drop. Default 100 ms. */
  readonly initialDelayMs?: number;
  /** Cap of the exponentially growing delay. Default 10 s. */
  readonly maxDelayMs?: number;
}

/** What a dropped subscription reports before it waits and resubscribes. */
export interface EsdbReconnectInfo {
  /** 1 for the first resubscription after a delivered event, then 2, 3, ... */
  readonly attempt: number;
  readonly delayMs: number;
  /** Where the new subscription starts (exclusive). */
  readonly fromPosition: 'start' | Position;
  /** Why the previous subscription ended; undefined when it ended without an error. */
  readonly error: unknown;
}

export interface EsdbEventStoreOptions {
  readonly reconnect?: EsdbReconnectOptions;
  /** Called on every resubscription, for logs and metrics. */
  readonly onReconnect?: (info: EsdbReconnectInfo) => void;
  /** Waits `ms` or until `signal` aborts, whichever is first. Injected by tests. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** A number in [0, 1) for the jitter. Injected by tests. */
  readonly random?: () => number;
}

/** readAll of this adapter also takes stream prefixes, applied client-side (6.x reads have no filter). */
export interface EsdbReadAllOptions extends ReadAllOptions {
  readonly streamPrefixes?: readonly string[];
}

const defaultInitialDelayMs = 100;
const defaultMaxDelayMs = 10_000;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class EsdbEventStore implements EventStore {
  private closed = false;
  private readonly subscriptions = new Set<ResubscribingSubscription>();
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly random: () => number;

  /** Connects with an `esdb://` or `esdb+discover://` connection string, e.g. esdb://localhost:2113?tls=false. */
  static connect(connectionString: string, options: EsdbEventStoreOptions = {}): EsdbEventStore {
    return new EsdbEventStore(EventStoreDBClient.connectionString(connectionString), options);
  }

  constructor(
    private readonly client: EsdbClientSurface,
    private readonly options: EsdbEventStoreOptions = {},
  ) {
    this.initialDelayMs = options.reconnect?.initialDelayMs ?? defaultInitialDelayMs;
    this.maxDelayMs = options.reconnect?.maxDelayMs ?? defaultMaxDelayMs;
    if (!(this.initialDelayMs > 0) || !(this.maxDelayMs >= this.initialDelayMs)) {
      throw new RangeError('Reconnect delays must satisfy 0 < initialDelayMs <= maxDelayMs');
    }
    this.sleep = options.sleep ?? abortableSleep;
    this.random = options.random ?? Math.random;
  }

  async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options: { readonly expectedRevision?: ExpectedRevision } = {},
  ): Promise<AppendResult> {
    this.assertOpen();
    if (streamId.length === 0) throw new TypeError('A stream id must not be empty');
    const expected = options.expectedRevision ?? 'any';
    if (typeof expected === 'bigint' && expected < 0n) {
      throw new RangeError(`An expected revision must not be negative, got ${expected}`);
    }
    const prepared = events.map(prepare);
    if (new Set(prepared.map((event) => event.id.toLowerCase())).size !== prepared.length) {
      throw new IdempotencyViolationError(streamId, `Append to ${streamId} names the same event id twice`);
    }
    const bytes = prepared.reduce((sum, event) => sum + event.bytes, 0);
    if (bytes > maxAppendBytes) throw new AppendTooLargeError(streamId, bytes);
    // The client reports revision 0 for an empty append to a missing stream; the check is done here.
    if (prepared.length === 0) return this.checkEmptyAppend(streamId, expected);

    let result: ClientAppendResult;
    try {
      result = await this.client.appendToStream(
        streamId,
        prepared.map((event) => event.data),
        { expectedRevision: toClientExpected(expected) },
      );
    } catch (error) {
      throw await this.mapAppendError(error, streamId, events, expected, bytes);
    }
    // Only a client made with throwOnAppendFailure=false answers a conflict this way; connect() does not.
    if (!result.success) {
      throw new WrongExpectedRevisionError(streamId, expected, toActualRevision(result.nextExpectedRevision));
    }
    // An idempotent (deduplicated) append may come back without a position: it is the last event's.
    const position = result.position ?? (await this.positionOf(streamId, result.nextExpectedRevision));
    return { nextExpectedRevision: result.nextExpectedRevision, position: copyPosition(position) };
  }

  async *readStream(streamId: string, options: ReadStreamOptions = {}): AsyncGenerator<RecordedEvent> {
    this.assertOpen();
    const forwards = options.direction !== 'backwards';
    const from = options.fromRevision ?? (forwards ? 'start' : 'end');
    const maxCount = checkMaxCount(options.maxCount);
    if (maxCount === 0) return;
    if (typeof from === 'bigint' && from < 0n) throw new RangeError(`Invalid fromRevision ${from}`);
    const read = this.client.readStream(streamId, {
      direction: forwards ? FORWARDS : BACKWARDS,
      fromRevision: from === 'start' ? START : from === 'end' ? END : from,
      ...(maxCount === undefined ? {} : { maxCount: BigInt(maxCount) }),
    });
    try {
      for await (const resolved of read) {
        if (resolved.event !== undefined) yield toRecordedEvent(resolved.event, streamId);
      }
    } catch (error) {
      // The client does not throw a missing stream from the call; it surfaces while iterating.
      if (error instanceof StreamNotFoundError) return;
      throw error;
    }
  }

  /**
   * Both directions are inclusive of `fromPosition`, as the port says. System events (streams or types
   * starting with `$`) are skipped, and so are streams outside `streamPrefixes` when given; maxCount
   * counts only the events returned.
   */
  async *readAll(options: EsdbReadAllOptions = {}): AsyncGenerator<RecordedEvent> {
    this.assertOpen();
    const forwards = options.direction !== 'backwards';
    const from = options.fromPosition ?? (forwards ? 'start' : 'end');
    let remaining = checkMaxCount(options.maxCount) ?? Infinity;
    if (remaining === 0) return;
    const wanted = (event: ClientRecordedEvent) =>
      !isSystemEvent(event) && matchesPrefixes(event.streamId, options.streamPrefixes);

    if (forwards) {
      for await (const resolved of this.client.readAll({
        direction: FORWARDS,
        fromPosition: from === 'start' ? START : from === 'end' ? END : copyPosition(from),
      })) {
        const event = resolved.event;
        if (event === undefined || !wanted(event)) continue;
        yield toRecordedEvent(event);
        if ((remaining -= 1) === 0) return;
      }
      return;
    }

    let bound: Position | undefined;
    if (typeof from === 'object') {
      // A backwards read of $all starts before the given position; the event at it is read first.
      bound = from;
      for await (const resolved of this.client.readAll({
        direction: FORWARDS,
        fromPosition: copyPosition(from),
        maxCount: 1n,
      })) {
        const event = resolved.event;
        if (event?.position !== undefined && comparePositions(event.position, from) === 0 && wanted(event)) {
          yield toRecordedEvent(event);
          if ((remaining -= 1) === 0) return;
        }
      }
    }
    for await (const resolved of this.client.readAll({
      direction: BACKWARDS,
      fromPosition: bound === undefined ? (from === 'start' ? START : END) : copyPosition(bound),
    })) {
      const event = resolved.event;
      if (event === undefined || !wanted(event)) continue;
      // Never the event at the bound twice, whichever way the server counts it.
      if (bound !== undefined && event.position !== undefined && comparePositions(event.position, bound) >= 0) {
        continue;
      }
      yield toRecordedEvent(event);
      if ((remaining -= 1) === 0) return;
    }
  }

  subscribeToAll(options: SubscribeToAllOptions): Subscription {
    this.assertOpen();
    const subscription = new ResubscribingSubscription(
      this.client,
      options,
      (failures) => this.backoffDelay(failures),
      this.sleep,
      this.options.onReconnect,
      () => this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Ends every subscription, then disposes of the client (its batch-append stream keeps a process alive). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.client.dispose();
  }

  /** Exponential, capped at maxDelayMs, with "equal jitter": between half and all of the step. */
  private backoffDelay(failures: number): number {
    const step = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(failures, 30));
    return Math.min(this.maxDelayMs, Math.round(step / 2 + (this.random() * step) / 2));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The event store is closed');
  }

  private async lastEvent(streamId: string): Promise<RecordedEvent | undefined> {
    for await (const event of this.readStream(streamId, { direction: 'backwards', maxCount: 1 })) return event;
    return undefined;
  }

  private async checkEmptyAppend(streamId: string, expected: ExpectedRevision): Promise<AppendResult> {
    const last = await this.lastEvent(streamId);
    const actual = last === undefined ? 'no_stream' : last.revision;
    const holds =
      expected === 'any' ||
      (expected === 'no_stream' && actual === 'no_stream') ||
      (expected === 'stream_exists' && actual !== 'no_stream') ||
      expected === actual;
    if (!holds) throw new WrongExpectedRevisionError(streamId, expected, actual);
    return last === undefined
      ? { nextExpectedRevision: -1n, position: { commit: 0n, prepare: 0n } }
      : { nextExpectedRevision: last.revision, position: last.position };
  }

  private async positionOf(streamId: string, revision: bigint): Promise<Position> {
    for await (const event of this.readStream(streamId, { fromRevision: revision, maxCount: 1 })) {
      return event.position;
    }
    throw new Error(`Stream ${streamId} has no event at revision ${revision} to take a position from`);
  }

  private async mapAppendError(
    error: unknown,
    streamId: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
    bytes: number,
  ): Promise<unknown> {
    if (error instanceof MaxAppendSizeExceededError) return new AppendTooLargeError(streamId, bytes);
    // On the batch path the message is empty: recognized by class, never by text.
    if (!(error instanceof WrongExpectedVersionError)) return error;
    const actual = toActualRevision(error.actualVersion);
    if (await this.isPartialRetry(streamId, events, expected)) {
      return new IdempotencyViolationError(
        streamId,
        `Append to ${streamId}: some of its event ids were appended before, not all of them`,
      );
    }
    return new WrongExpectedRevisionError(streamId, expected, actual);
  }

  /**
   * The server refuses a retry of which only a part was appended before ("corrupted idempotency") with
   * a wrong-expected-version answer. With 'any' that is the only way to get one; with 'no_stream' or an
   * exact revision it is told apart from a real conflict by the first event id at the place the append
   * would have gone.
   */
  private async isPartialRetry(
    streamId: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
  ): Promise<boolean> {
    if (expected === 'any') return true;
    if (expected === 'stream_exists') return false;
    const first = events[0];
    if (first === undefined) return false;
    const place = expected === 'no_stream' ? 0n : expected + 1n;
    for await (const event of this.readStream(streamId, { fromRevision: place, maxCount: 1 })) {
      return event.id.toLowerCase() === first.id.toLowerCase();
    }
    return false;
  }
}

/** Catch-up then live over $all; on a drop it resubscribes after the last event it saw, with backoff. */
class ResubscribingSubscription implements Subscription {
  private closed = false;
  private readonly abort = new AbortController();
  private current: EsdbSubscriptionSurface | undefined;
  private readonly events: AsyncGenerator<RecordedEvent>;
  private readonly ended: Promise<IteratorResult<RecordedEvent>>;
  private end!: () => void;

  constructor(
    private readonly client: EsdbClientSurface,
    private readonly options: SubscribeToAllOptions,
    private readonly delayFor: (failures: number) => number,
    private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>,
    private readonly onReconnect: ((info: EsdbReconnectInfo) => void) | undefined,
    private readonly onClosed: () => void,
  ) {
    this.ended = new Promise((resolve) => {
      this.end = () => resolve({ done: true, value: undefined });
    });
    this.events = this.run();
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    return {
      next: () => (this.closed ? this.ended : Promise.race([this.events.next(), this.ended])),
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.end();
    this.abort.abort();
    this.onClosed();
    const current = this.current;
    this.current = undefined;
    await current?.unsubscribe().catch(() => undefined);
  }

  private async *run(): AsyncGenerator<RecordedEvent> {
    const prefixes = this.options.streamPrefixes;
    let from: 'start' | Position = this.options.fromPosition;
    let failures = 0;
    while (!this.closed) {
      const subscription = this.client.subscribeToAll({
        fromPosition: from === 'start' ? START : copyPosition(from),
        filter:
          prefixes === undefined || prefixes.length === 0
            ? excludeSystemEvents()
            : streamNameFilter({ prefixes: [...prefixes] }),
      });
      this.current = subscription;
      let error: unknown;
      try {
        for await (const resolved of subscription) {
          if (this.closed) break;
          const event = resolved.event;
          if (event?.position === undefined) continue;
          // Positions are exclusive: never the starting event, never one delivered before a drop.
          if (from !== 'start' && comparePositions(event.position, from) <= 0) continue;
          from = copyPosition(event.position);
          failures = 0;
          if (isSystemEvent(event) || !matchesPrefixes(event.streamId, prefixes)) continue;
          yield toRecordedEvent(event);
          if (this.closed) break;
        }
      } catch (caught) {
        error = caught;
      } finally {
        if (this.current === subscription) this.current = undefined;
        await subscription.unsubscribe().catch(() => undefined);
      }
      if (this.closed) return;
      // The client does not resubscribe by itself: wait, then start again after the last event seen.
      const delayMs = this.delayFor(failures);
      failures += 1;
      this.onReconnect?.({ attempt: failures, delayMs, fromPosition: from, error });
      await this.sleep(delayMs, this.abort.signal);
    }
  }
}

type ClientRecordedEvent = NonNullable<ResolvedEvent['event']> | NonNullable<AllStreamResolvedEvent['event']>;

interface PreparedEvent {
  readonly id: string;
  readonly data: EventData;
  readonly bytes: number;
}

function prepare(event: EventToAppend): PreparedEvent {
  // The server answers a non-UUID id with an unhelpful UnknownError; refuse it here with a clear one.
  if (!uuidPattern.test(event.id)) throw new TypeError(`Event id ${event.id} is not a UUID`);
  if (typeof event.type !== 'string' || event.type.length === 0) throw new TypeError(`Event ${event.id} has no type`);
  const data = checkObject(event.data, `Data of event ${event.id}`);
  const metadata = checkObject(event.metadata, `Metadata of event ${event.id}`);
  return {
    id: event.id,
    // The id is passed through unchanged: the server deduplicates retries by it.
    data: jsonEvent({ id: event.id, type: event.type, data: data as JSONType, metadata: metadata as JSONType }),
    bytes: Buffer.byteLength(JSON.stringify(data)) + Buffer.byteLength(JSON.stringify(metadata)),
  };
}

function checkObject(value: JsonObject, what: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${what} must be a JSON object`);
  }
  return value;
}

function toClientExpected(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected;
  }
}

function toActualRevision(actual: unknown): bigint | 'no_stream' {
  return typeof actual === 'bigint' && actual >= 0n ? actual : 'no_stream';
}

function checkMaxCount(maxCount: number | undefined): number | undefined {
  if (maxCount === undefined) return undefined;
  if (!Number.isSafeInteger(maxCount) || maxCount < 0) throw new RangeError(`Invalid maxCount ${maxCount}`);
  return maxCount;
}

function copyPosition(position: Position): Position {
  return { commit: position.commit, prepare: position.prepare };
}

function isSystemEvent(event: ClientRecordedEvent): boolean {
  return event.streamId.startsWith('$') || event.type.startsWith('$');
}

function matchesPrefixes(streamId: string, prefixes: readonly string[] | undefined): boolean {
  return prefixes === undefined || prefixes.some((prefix) => streamId.startsWith(prefix));
}

function toRecordedEvent(event: ClientRecordedEvent, streamId = event.streamId): RecordedEvent {
  if (event.position === undefined) {
    throw new Error(`Event ${event.id} in ${streamId} came without a position (server older than 20.x?)`);
  }
  return {
    id: event.id,
    type: event.type,
    streamId: event.streamId,
    revision: event.revision,
    position: copyPosition(event.position),
    data: toJsonObject(event.data),
    metadata: toJsonObject(event.metadata),
    created: event.created,
  };
}

/** JSON events come parsed; anything else (binary, or JSON that is not an object) is decoded or kept whole. */
function toJsonObject(value: unknown): JsonObject {
  if (value === undefined || value === null) return {};
  if (value instanceof Uint8Array) {
    if (value.length === 0) return {};
    try {
      return toJsonObject(JSON.parse(Buffer.from(value).toString('utf8')) as unknown);
    } catch {
      return { $binary: Buffer.from(value).toString('base64') };
    }
  }
  if (typeof value === 'object' && !Array.isArray(value)) return value as JsonObject;
  return { $value: value };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
