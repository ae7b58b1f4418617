import { ensureSqliteSchema } from '@deals/platform';
import Database from 'better-sqlite3';
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
  maxAppendBytes,
} from '../event-store.port';

export interface EmbeddedEventStoreOptions {
  /** The SQLite file; created with its schema when missing. */
  readonly path: string;
  /** How often an idle subscription looks for appends made by other processes. Default 200. */
  readonly pollIntervalMs?: number;
  /** How long a write waits for another process holding the write lock. Default 5000. */
  readonly busyTimeoutMs?: number;
}

export interface EmbeddedEventStoreStats {
  /** Write transactions committed: one per group commit. */
  readonly flushes: number;
  /** appendToStream calls those transactions settled. */
  readonly appends: number;
}

export interface EmbeddedEventStorePragmas {
  readonly journalMode: string;
  /** 2 is FULL. */
  readonly synchronous: number;
  readonly busyTimeoutMs: number;
  readonly schemaVersion: number;
}

const schemaVersion = 1;
const pageSize = 500;
/** Caps one group commit, so a long queue never becomes one giant transaction. */
const maxBatchRequests = 1_000;
const maxBatchBytes = 8 * 1024 * 1024;
/** Largest SQLite integer: the bound for reading from 'end'. */
const lastInteger = 9_223_372_036_854_775_807n;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface EventRow {
  readonly position: bigint;
  readonly stream_id: string;
  readonly revision: bigint;
  readonly event_id: string;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
  readonly created: bigint;
}

/** Where an event sits; for a stream's head, revision -1n and position 0n mean no stream. */
interface Place {
  readonly revision: bigint;
  readonly position: bigint;
}

interface SerializedEvent {
  readonly id: string;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
}

interface AppendRequest {
  readonly streamId: string;
  readonly expected: ExpectedRevision;
  readonly events: readonly SerializedEvent[];
  readonly bytes: number;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** An expectation or idempotency refusal rejects one request; anything else thrown fails the batch. */
type Outcome = AppendResult | WrongExpectedRevisionError | IdempotencyViolationError;

const columns = 'position, stream_id, revision, event_id, type, data, metadata, created';

function prepareStatements(db: Database.Database) {
  // safeIntegers: revisions and positions come back as bigint, as the port wants them.
  return {
    insert: db
      .prepare<[string, bigint, string, string, string, string, number]>(
        `INSERT INTO events (stream_id, revision, event_id, type, data, metadata, created)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .safeIntegers(true),
    head: db
      .prepare<[string], Place>(
        'SELECT revision, position FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1',
      )
      .safeIntegers(true),
    eventId: db
      .prepare<[string, string], Place>('SELECT revision, position FROM events WHERE stream_id = ? AND event_id = ?')
      .safeIntegers(true),
    streamForwards: db
      .prepare<[string, bigint, number], EventRow>(
        `SELECT ${columns} FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?`,
      )
      .safeIntegers(true),
    streamBackwards: db
      .prepare<[string, bigint, number], EventRow>(
        `SELECT ${columns} FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`,
      )
      .safeIntegers(true),
    allForwards: db
      .prepare<[bigint, number], EventRow>(
        `SELECT ${columns} FROM events WHERE position >= ? ORDER BY position LIMIT ?`,
      )
      .safeIntegers(true),
    allBackwards: db
      .prepare<[bigint, number], EventRow>(
        `SELECT ${columns} FROM events WHERE position <= ? ORDER BY position DESC LIMIT ?`,
      )
      .safeIntegers(true),
    lastPosition: db
      .prepare<[], { position: bigint | null }>('SELECT max(position) AS position FROM events')
      .safeIntegers(true),
    // Prefixes travel as a JSON array; instr(...) = 1 is a literal prefix test, with no LIKE wildcards to escape.
    subscriptionPage: db
      .prepare<{ after: bigint; upTo: bigint; prefixes: string | null; limit: number }, EventRow>(
        `SELECT ${columns} FROM events
         WHERE position > @after AND position <= @upTo
           AND (@prefixes IS NULL OR EXISTS (SELECT 1 FROM json_each(@prefixes) WHERE instr(stream_id, value) = 1))
         ORDER BY position LIMIT @limit`,
      )
      .safeIntegers(true),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * The event store in one SQLite file (WAL, synchronous=FULL). Appends are queued and group-committed:
 * everything queued when the flush runs shares one transaction and one fsync, and each request's
 * expectation is checked against the stream as the earlier requests of the batch left it.
 */
export class EmbeddedEventStore implements EventStore {
  private readonly statements: Statements;
  private readonly writeBatch: Database.Transaction<(batch: readonly AppendRequest[]) => Outcome[]>;
  private readonly subscriptions = new Set<EmbeddedSubscription>();
  private readonly queue: AppendRequest[] = [];
  private flushHandle: NodeJS.Immediate | undefined;
  private closing: Promise<void> | undefined;
  private flushes = 0;
  private appends = 0;

  private constructor(
    private readonly db: Database.Database,
    private readonly pollIntervalMs: number,
  ) {
    this.statements = prepareStatements(db);
    this.writeBatch = db.transaction((batch: readonly AppendRequest[]) => {
      const heads = new Map<string, Place>();
      const created = Date.now();
      return batch.map((request) => this.write(request, heads, created));
    });
  }

  static open(options: EmbeddedEventStoreOptions): EmbeddedEventStore {
    const pollIntervalMs = options.pollIntervalMs ?? 200;
    if (!(pollIntervalMs > 0)) throw new RangeError(`pollIntervalMs must be positive, got ${pollIntervalMs}`);
    const db = new Database(options.path);
    try {
      // Set first: switching to WAL and creating the schema may wait for another process.
      db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5_000)}`);
      const journalMode = db.pragma('journal_mode = WAL', { simple: true });
      if (journalMode !== 'wal') {
        throw new Error(`${options.path} cannot use WAL (journal mode ${String(journalMode)})`);
      }
      db.pragma('synchronous = FULL');
      ensureSqliteSchema(db, options.path, schemaVersion, schema);
      return new EmbeddedEventStore(db, pollIntervalMs);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  get stats(): EmbeddedEventStoreStats {
    return { flushes: this.flushes, appends: this.appends };
  }

  /** Read live from the connection, so a test or an operator sees what SQLite actually uses. */
  pragmas(): EmbeddedEventStorePragmas {
    const read = (name: string) => this.db.pragma(name, { simple: true });
    return {
      journalMode: String(read('journal_mode')),
      synchronous: Number(read('synchronous')),
      busyTimeoutMs: Number(read('busy_timeout')),
      schemaVersion: Number(read('user_version')),
    };
  }

  async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options: { readonly expectedRevision?: ExpectedRevision } = {},
  ): Promise<AppendResult> {
    if (this.closing) throw new Error('The event store is closed');
    if (streamId.length === 0) throw new TypeError('A stream id must not be empty');
    const expected = options.expectedRevision ?? 'any';
    if (typeof expected === 'bigint' && expected < 0n) {
      throw new RangeError(`An expected revision must not be negative, got ${expected}`);
    }
    // Serialized here, so a bad event fails its own call and never reaches the shared transaction.
    const serialized = events.map(serialize);
    const ids = new Set(serialized.map((event) => event.id));
    if (ids.size !== serialized.length) {
      throw new IdempotencyViolationError(streamId, `Append to ${streamId} names the same event id twice`);
    }
    const bytes = serialized.reduce(
      (sum, event) => sum + Buffer.byteLength(event.data) + Buffer.byteLength(event.metadata),
      0,
    );
    if (bytes > maxAppendBytes) throw new AppendTooLargeError(streamId, bytes);
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ streamId, expected, events: serialized, bytes, resolve, reject });
      this.scheduleFlush();
    });
  }

  async *readStream(streamId: string, options: ReadStreamOptions = {}): AsyncGenerator<RecordedEvent> {
    const forwards = options.direction !== 'backwards';
    const from = options.fromRevision ?? (forwards ? 'start' : 'end');
    const statement = forwards ? this.statements.streamForwards : this.statements.streamBackwards;
    yield* paginate(
      (cursor, limit) => statement.all(streamId, cursor, limit),
      (row) => row.revision,
      from === 'start' ? 0n : from === 'end' ? lastInteger : from,
      forwards,
      options.maxCount,
    );
  }

  async *readAll(options: ReadAllOptions = {}): AsyncGenerator<RecordedEvent> {
    const forwards = options.direction !== 'backwards';
    const from = options.fromPosition ?? (forwards ? 'start' : 'end');
    const statement = forwards ? this.statements.allForwards : this.statements.allBackwards;
    yield* paginate(
      (cursor, limit) => statement.all(cursor, limit),
      (row) => row.position,
      from === 'start' ? 0n : from === 'end' ? lastInteger : from.commit,
      forwards,
      options.maxCount,
    );
  }

  subscribeToAll(options: SubscribeToAllOptions): Subscription {
    if (this.closing) throw new Error('The event store is closed');
    const prefixes = options.streamPrefixes ? JSON.stringify(options.streamPrefixes) : null;
    const subscription = new EmbeddedSubscription(
      (after) => this.readAfter(after, prefixes),
      options.fromPosition === 'start' ? 0n : options.fromPosition.commit,
      this.pollIntervalMs,
      (ended) => this.subscriptions.delete(ended),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    if (this.flushHandle) clearImmediate(this.flushHandle);
    this.flushHandle = undefined;
    while (this.queue.length > 0) this.flush();
    this.db.close();
  }

  private scheduleFlush(): void {
    // setImmediate lets every append issued in this turn of the event loop join the same transaction.
    this.flushHandle ??= setImmediate(() => {
      this.flushHandle = undefined;
      this.flush();
      if (this.queue.length > 0) this.scheduleFlush();
    });
  }

  private flush(): void {
    const batch = this.takeBatch();
    let outcomes: Outcome[];
    try {
      outcomes = this.writeBatch.immediate(batch);
    } catch (error) {
      // Rolled back (or never begun): nothing of this batch is stored.
      for (const request of batch) request.reject(error);
      return;
    }
    this.flushes += 1;
    this.appends += batch.length;
    batch.forEach((request, index) => {
      const outcome = outcomes[index];
      if (outcome instanceof Error) request.reject(outcome);
      else if (outcome) request.resolve(outcome);
    });
    for (const subscription of this.subscriptions) subscription.notify();
  }

  private takeBatch(): AppendRequest[] {
    let count = 0;
    let bytes = 0;
    for (const request of this.queue) {
      if (count === maxBatchRequests || (count > 0 && bytes + request.bytes > maxBatchBytes)) break;
      count += 1;
      bytes += request.bytes;
    }
    return this.queue.splice(0, count);
  }

  /** Runs inside the batch transaction; `heads` holds the streams as earlier requests of the batch left them. */
  private write(request: AppendRequest, heads: Map<string, Place>, created: number): Outcome {
    const { streamId, expected, events } = request;
    const head = heads.get(streamId) ?? this.statements.head.get(streamId) ?? { revision: -1n, position: 0n };
    const found = head.revision < 0n ? [] : events.map((event) => this.statements.eventId.get(streamId, event.id));

    // A retry: the first id sits exactly where this call would have put it (for any/stream_exists, anywhere).
    const first = found[0];
    const start = expected === 'no_stream' ? 0n : typeof expected === 'bigint' ? expected + 1n : first?.revision;
    if (first !== undefined && first.revision === start) {
      const last = found.at(-1);
      if (last === undefined || !found.every((place, index) => place?.revision === start + BigInt(index))) {
        return new IdempotencyViolationError(
          streamId,
          `Append to ${streamId} repeats the events from revision ${start}, but not all of them in the same order`,
        );
      }
      return { nextExpectedRevision: last.revision, position: toPosition(last.position) };
    }

    if (!holds(expected, head.revision)) {
      return new WrongExpectedRevisionError(streamId, expected, head.revision < 0n ? 'no_stream' : head.revision);
    }
    const clash = found.findIndex((place) => place !== undefined);
    if (clash >= 0) {
      return new IdempotencyViolationError(
        streamId,
        `Event ${events[clash]?.id} is already in ${streamId} at revision ${found[clash]?.revision}, ` +
          'not where this append would put it',
      );
    }

    let { revision, position } = head;
    for (const event of events) {
      revision += 1n;
      const { lastInsertRowid } = this.statements.insert.run(
        streamId,
        revision,
        event.id,
        event.type,
        event.data,
        event.metadata,
        created,
      );
      position = BigInt(lastInsertRowid);
    }
    heads.set(streamId, { revision, position });
    // An empty append lands here too: it checked the expectation and reports the stream's head.
    return { nextExpectedRevision: revision, position: toPosition(position) };
  }

  /** One subscription page. Scans a bounded range, so a filter that matches nothing still moves the cursor on. */
  private readAfter(after: bigint, prefixes: string | null): { events: RecordedEvent[]; scannedTo: bigint } {
    const upTo = this.statements.lastPosition.get()?.position ?? 0n;
    if (upTo <= after) return { events: [], scannedTo: after };
    const rows = this.statements.subscriptionPage.all({ after, upTo, prefixes, limit: pageSize });
    const last = rows.at(-1);
    return {
      events: rows.map(toRecordedEvent),
      scannedTo: rows.length === pageSize && last ? last.position : upTo,
    };
  }
}

class EmbeddedSubscription implements Subscription {
  private readonly iterator: AsyncGenerator<RecordedEvent, void, undefined>;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly readAfter: (after: bigint) => { events: RecordedEvent[]; scannedTo: bigint },
    private after: bigint,
    private readonly pollIntervalMs: number,
    private readonly onEnd: (subscription: EmbeddedSubscription) => void,
  ) {
    this.iterator = this.run();
  }

  [Symbol.asyncIterator](): AsyncGenerator<RecordedEvent, void, undefined> {
    return this.iterator;
  }

  /** Called after each local commit, so live delivery does not wait for the poll. */
  notify(): void {
    this.wake?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    this.onEnd(this);
    // Ends the generator; a next() already pending settles first, as done, once woken.
    await this.iterator.return(undefined);
  }

  private async *run(): AsyncGenerator<RecordedEvent, void, undefined> {
    try {
      while (!this.closed) {
        // Always from the database, after the last position scanned: order follows positions, no gaps.
        const { events, scannedTo } = this.readAfter(this.after);
        if (scannedTo === this.after) {
          await this.idle();
          continue;
        }
        for (const event of events) yield event;
        this.after = scannedTo;
      }
    } finally {
      this.closed = true;
      this.onEnd(this);
    }
  }

  /** Until a local commit, a close, or the poll interval (which catches other processes' appends). */
  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.pollIntervalMs);
      this.wake = done;
    });
  }
}

// position is the rowid: assigned in commit order, from 1, never reused since nothing is deleted.
const schema = `
CREATE TABLE events (
  position  INTEGER PRIMARY KEY,
  stream_id TEXT    NOT NULL,
  revision  INTEGER NOT NULL,
  event_id  TEXT    NOT NULL,
  type      TEXT    NOT NULL,
  data      TEXT    NOT NULL,
  metadata  TEXT    NOT NULL,
  created   INTEGER NOT NULL,
  UNIQUE (stream_id, revision)
) STRICT;
CREATE UNIQUE INDEX events_by_stream_and_id ON events (stream_id, event_id);
`;

function serialize(event: EventToAppend): SerializedEvent {
  if (!uuidPattern.test(event.id)) throw new TypeError(`Event id ${event.id} is not a UUID`);
  if (typeof event.type !== 'string' || event.type.length === 0) throw new TypeError(`Event ${event.id} has no type`);
  return {
    // Lower case, as EventStoreDB hands UUIDs back, so a retry in another case is still the same id.
    id: event.id.toLowerCase(),
    type: event.type,
    data: toJson(event.data, `Data of event ${event.id}`),
    metadata: toJson(event.metadata, `Metadata of event ${event.id}`),
  };
}

function toJson(value: JsonObject, what: string): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${what} must be a JSON object`);
  }
  return JSON.stringify(value);
}

function holds(expected: ExpectedRevision, revision: bigint): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return revision < 0n;
    case 'stream_exists':
      return revision >= 0n;
    default:
      return revision === expected;
  }
}

/** Reads page by page, so a long stream is never loaded whole. */
function* paginate(
  read: (cursor: bigint, limit: number) => EventRow[],
  key: (row: EventRow) => bigint,
  from: bigint,
  forwards: boolean,
  maxCount = Number.MAX_SAFE_INTEGER,
): Generator<RecordedEvent> {
  if (!Number.isSafeInteger(maxCount) || maxCount < 0) throw new RangeError(`Invalid maxCount ${maxCount}`);
  let remaining = maxCount;
  let cursor = from;
  while (remaining > 0) {
    const limit = Math.min(pageSize, remaining);
    const rows = read(cursor, limit);
    for (const row of rows) yield toRecordedEvent(row);
    const last = rows.at(-1);
    if (last === undefined || rows.length < limit) return;
    remaining -= rows.length;
    cursor = forwards ? key(last) + 1n : key(last) - 1n;
  }
}

function toPosition(position: bigint): Position {
  return { commit: position, prepare: position };
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    type: row.type,
    streamId: row.stream_id,
    revision: row.revision,
    position: toPosition(row.position),
    data: JSON.parse(row.data) as JsonObject,
    metadata: JSON.parse(row.metadata) as JsonObject,
    created: new Date(Number(row.created)),
  };
}
