/**
 * The event store port. Its semantics are EventStoreDB's, so that the embedded adapter and the
 * EventStoreDB adapter are interchangeable: per-stream revisions from 0, a global position, expected
 * revision checks, event-id idempotency, reads both ways, and catch-up-then-live subscriptions.
 */

/** A place in the global order of all events. EventStoreDB positions are a (commit, prepare) pair. */
export interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

/**
 * What the writer believes about the stream: `any` (no check), `no_stream` (must not exist yet),
 * `stream_exists` (must have at least one event), or the exact revision of its last event.
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export type JsonObject = { readonly [key: string]: unknown };

export interface EventToAppend {
  /** A UUID. Appending the same ids again at the same place is a no-op, so retries stay idempotent. */
  readonly id: string;
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
}

export interface RecordedEvent {
  readonly id: string;
  readonly type: string;
  readonly streamId: string;
  /** Revision of this event in its stream, from 0. */
  readonly revision: bigint;
  readonly position: Position;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
  /** When the store wrote it. */
  readonly created: Date;
}

export interface AppendResult {
  /** Revision of the stream's last event after the append. */
  readonly nextExpectedRevision: bigint;
  /** Position of the last event appended. */
  readonly position: Position;
}

export type Direction = 'forwards' | 'backwards';

export interface ReadStreamOptions {
  readonly direction?: Direction;
  /** Inclusive. Defaults to 'start' forwards and 'end' backwards. */
  readonly fromRevision?: 'start' | 'end' | bigint;
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  readonly direction?: Direction;
  /** Inclusive. Defaults to 'start' forwards and 'end' backwards. */
  readonly fromPosition?: 'start' | 'end' | Position;
  readonly maxCount?: number;
}

export interface SubscribeToAllOptions {
  /** Exclusive, as in EventStoreDB: the subscription delivers the events after this position. */
  readonly fromPosition: 'start' | Position;
  /** Only streams whose name starts with one of these prefixes; all streams when absent. */
  readonly streamPrefixes?: readonly string[];
}

/** Catch-up first, then live: an endless iteration that ends only when closed. */
export interface Subscription extends AsyncIterable<RecordedEvent> {
  close(): Promise<void>;
}

export interface EventStore {
  /**
   * Appends atomically: all events or none. Resolves only once the events are durable.
   * Rejects with WrongExpectedRevisionError when the expectation does not hold.
   */
  appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options?: { readonly expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult>;

  /** A stream that does not exist reads as empty. */
  readStream(streamId: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;

  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;

  subscribeToAll(options: SubscribeToAllOptions): Subscription;

  close(): Promise<void>;
}

export const maxAppendBytes = 1024 * 1024;

export class WrongExpectedRevisionError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** Revision of the stream's last event, or 'no_stream'. */
    readonly actual: bigint | 'no_stream',
  ) {
    super(`Stream ${streamId}: expected revision ${String(expected)}, actual ${String(actual)}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

/** Some but not all of the event ids were appended before, or at another place. */
export class IdempotencyViolationError extends Error {
  constructor(readonly streamId: string, message: string) {
    super(message);
    this.name = 'IdempotencyViolationError';
  }
}

export class AppendTooLargeError extends Error {
  constructor(readonly streamId: string, readonly bytes: number) {
    super(`Append to ${streamId} is ${bytes} bytes; the limit is ${maxAppendBytes}`);
    this.name = 'AppendTooLargeError';
  }
}

export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** Lossless text form of a position (bigints do not survive JSON.stringify). */
export function formatPosition(position: Position): string {
  return `${position.commit}/${position.prepare}`;
}

export function parsePosition(text: string): Position {
  const match = /^(\d+)\/(\d+)$/.exec(text);
  if (!match) throw new Error(`Not a position: ${text}`);
  return { commit: BigInt(match[1]!), prepare: BigInt(match[2]!) };
}
