import { resolve } from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import { ensureSqliteSchema, RecentMap, useWal } from '@deals/platform';
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

const schemaVersion = 2;
/** Rows per read: large pages keep the per-query cost small next to the per-row cost. */
const pageSize = 1_000;
/** Caps one group commit, so a long queue never becomes one giant transaction. */
const maxBatchRequests = 1_000;
const maxBatchBytes = 8 * 1024 * 1024;
/** Stream heads kept in memory for the expected-revision check; the least recently written go first. */
const maxCachedHeads = 100_000;
/** How many of the newest events newestEvents() keeps: what deal-stream-lag.ts asks for. */
const newestKept = 2;
/** Largest SQLite integer: the bound for reading from 'end'. */
const lastInteger = 9_223_372_036_854_775_807n;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A row as the read statements return it (raw, in `columns` order). */
type EventRow = [
  position: number,
  streamId: string,
  revision: number,
  eventId: string,
  type: string,
  data: string,
  metadata: string,
  created: number,
];

/** Where an event sits. */
interface Place {
  readonly revision: number;
  readonly position: number;
}

/** A stream's last event; `no` is undefined for a stream never written, with revision -1 and position 0. */
interface Head extends Place {
  readonly no: number | undefined;
}

const noStream: Head = { no: undefined, revision: -1, position: 0 };

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

interface BatchWritten {
  readonly outcomes: Outcome[];
  /** The heads of the streams the batch wrote, for the cache once the commit has succeeded. */
  readonly heads: Map<string, Head>;
}

const columns = 'position, stream_id, revision, event_id, type, data, metadata, created';

function prepareStatements(db: Database.Database) {
  // Integers come back as numbers (positions and revisions stay far below 2^53) and become bigints
  // only where the port hands them out. Reads return arrays (raw), which are cheaper than objects.
  const read = (sql: string) => db.prepare<unknown[], EventRow>(sql).raw(true);
  return {
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
    streamNo: db.prepare<[string], number>('SELECT stream_no FROM streams WHERE stream_id = ?').pluck(),
    insertStream: db.prepare<[string]>('INSERT INTO streams (stream_id) VALUES (?)'),
    insert: db.prepare<[number, string, number, string, string, string, string, number]>(
      `INSERT INTO events (stream_no, stream_id, revision, event_id, type, data, metadata, created)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    last: db.prepare<[number], Place>(
      'SELECT revision, position FROM events WHERE stream_no = ? ORDER BY revision DESC LIMIT 1',
    ),
    eventId: db.prepare<[number, string], Place>(
      'SELECT revision, position FROM events WHERE stream_no = ? AND event_id = ?',
    ),
    streamForwards: read(
      `SELECT ${columns} FROM events WHERE stream_no = ? AND revision >= ? ORDER BY revision LIMIT ?`,
    ),
    streamBackwards: read(
      `SELECT ${columns} FROM events WHERE stream_no = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`,
    ),
    allForwards: read(`SELECT ${columns} FROM events WHERE position >= ? ORDER BY position LIMIT ?`),
    allBackwards: read(`SELECT ${columns} FROM events WHERE position <= ? ORDER BY position DESC LIMIT ?`),
    lastPosition: db.prepare<[], number | null>('SELECT max(position) FROM events').pluck(),
  };
}

type Statements = ReturnType<typeof prepareStatements>;
type ReadStatement = Database.Statement<unknown[], EventRow>;

/**
 * The event store in one SQLite file (WAL, synchronous=FULL). Appends are queued and group-committed:
 * everything queued when the flush runs shares one transaction and one fsync, and each request's
 * expectation is checked against the stream as the earlier requests of the batch left it.
 */
export class EmbeddedEventStore implements EventStore {
  private readonly statements: Statements;
  private readonly writeBatch: Database.Transaction<(batch: readonly AppendRequest[]) => BatchWritten>;
  /** One page statement per number of stream prefixes a subscription filters on (undefined: no filter). */
  private readonly subscriptionPages = new Map<number | undefined, ReadStatement>();
  private readonly subscriptions = new Set<EmbeddedSubscription>();
  private readonly queue: AppendRequest[] = [];
  /**
   * Stream heads as this connection last committed or read them. Valid only while no other connection
   * has written: each write transaction compares SQLite's data_version (which moves only on other
   * connections' commits) with the one it saw last, under the write lock, and drops the cache if it moved.
   */
  private readonly heads = new RecentMap<string, Head>(maxCachedHeads);
  private dataVersion = -1;
  private flushHandle: NodeJS.Immediate | undefined;
  private closing: Promise<void> | undefined;
  private flushes = 0;
  private appends = 0;
  /** See newestEvents(). */
  private newest: { readonly version: number; readonly flushes: number; readonly events: readonly RecordedEvent[] } | undefined;

  /**
   * Commit notices between the stores that have this file open in other threads of the process (the
   * API's projections run in a worker thread): their subscriptions wake at once instead of at the poll.
   */
  private readonly commits: BroadcastChannel;

  private constructor(
    private readonly db: Database.Database,
    private readonly pollIntervalMs: number,
    path: string,
  ) {
    this.commits = new BroadcastChannel(`deals-event-store:${resolve(path)}`);
    this.commits.onmessage = () => this.notifySubscriptions();
    this.commits.unref();
    this.statements = prepareStatements(db);
    this.writeBatch = db.transaction((batch: readonly AppendRequest[]) => {
      const version = this.statements.dataVersion.get()!;
      if (version !== this.dataVersion) {
        this.heads.clear();
        this.dataVersion = version;
      }
      const heads = new Map<string, Head>();
      const created = Date.now();
      return { outcomes: batch.map((request) => this.write(request, heads, created)), heads };
    });
  }

  static open(options: EmbeddedEventStoreOptions): EmbeddedEventStore {
    const pollIntervalMs = options.pollIntervalMs ?? 200;
    if (!(pollIntervalMs > 0)) throw new RangeError(`pollIntervalMs must be positive, got ${pollIntervalMs}`);
    const db = new Database(options.path);
    try {
      useWal(db, options.path, options.busyTimeoutMs ?? 5_000);
      db.pragma('synchronous = FULL');
      migrateFromVersion1(db);
      ensureSqliteSchema(db, options.path, schemaVersion, schema);
      return new EmbeddedEventStore(db, pollIntervalMs, options.path);
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

  readStream(streamId: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const forwards = options.direction !== 'backwards';
    const from = options.fromRevision ?? (forwards ? 'start' : 'end');
    const statement = forwards ? this.statements.streamForwards : this.statements.streamBackwards;
    return pages(() => {
      const no = this.statements.streamNo.get(streamId);
      if (no === undefined) return () => [];
      return paginate(
        (cursor, limit) => statement.all(no, cursor, limit),
        (row) => row[2],
        from === 'start' ? 0n : from === 'end' ? lastInteger : from,
        forwards,
        options.maxCount,
      );
    });
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const forwards = options.direction !== 'backwards';
    const from = options.fromPosition ?? (forwards ? 'start' : 'end');
    const { maxCount } = options;
    if (!forwards && from === 'end' && maxCount !== undefined && Number.isSafeInteger(maxCount) && maxCount >= 0 && maxCount <= newestKept) {
      return pages(() => {
        let given = false;
        return () => (given ? [] : ((given = true), this.newestEvents().slice(0, maxCount)));
      });
    }
    const statement = forwards ? this.statements.allForwards : this.statements.allBackwards;
    return pages(() =>
      paginate(
        (cursor, limit) => statement.all(cursor, limit),
        (row) => row[0],
        from === 'start' ? 0n : from === 'end' ? lastInteger : from.commit,
        forwards,
        options.maxCount,
      ),
    );
  }

  subscribeToAll(options: SubscribeToAllOptions): Subscription {
    if (this.closing) throw new Error('The event store is closed');
    const prefixes = options.streamPrefixes;
    const statement = this.subscriptionPage(prefixes?.length);
    const bound = Object.fromEntries((prefixes ?? []).map((prefix, index) => [`p${index}`, prefix]));
    const subscription = new EmbeddedSubscription(
      (after) => {
        const upTo = this.statements.lastPosition.get() ?? 0;
        if (upTo <= after) return { events: [], scannedTo: after };
        const rows = statement.all({ ...bound, after, upTo, limit: pageSize });
        const last = rows.at(-1);
        // A page that filtered out rows ends where it stopped scanning, so the cursor always moves on.
        return { events: rows.map(toRecordedEvent), scannedTo: rows.length === pageSize && last ? last[0] : upTo };
      },
      options.fromPosition === 'start' ? 0 : Number(options.fromPosition.commit),
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
    this.commits.close();
    this.db.close();
  }

  /**
   * A page of a subscription: bounded by the last position seen before it (another process may append
   * meanwhile), filtered on `count` stream prefixes or on none. Prefixes are compared literally (substr,
   * no LIKE wildcards), in SQL, so filtered-out rows never reach JS.
   */
  private subscriptionPage(count: number | undefined): ReadStatement {
    let statement = this.subscriptionPages.get(count);
    if (statement === undefined) {
      const filter =
        count === undefined
          ? '1'
          : Array.from({ length: count }, (_, index) => `substr(stream_id, 1, length(@p${index})) = @p${index}`).join(' OR ') || '0';
      statement = this.db
        .prepare<unknown[], EventRow>(
          `SELECT ${columns} FROM events WHERE position > @after AND position <= @upTo
           AND (${filter}) ORDER BY position LIMIT @limit`,
        )
        .raw(true);
      this.subscriptionPages.set(count, statement);
    }
    return statement;
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
    let written: BatchWritten;
    try {
      written = this.writeBatch.immediate(batch);
    } catch (error) {
      // Rolled back (or never begun): nothing of this batch is stored, and the cache never saw it.
      for (const request of batch) request.reject(error);
      return;
    }
    this.flushes += 1;
    this.appends += batch.length;
    for (const [streamId, head] of written.heads) this.heads.set(streamId, head);
    batch.forEach((request, index) => {
      const outcome = written.outcomes[index];
      if (outcome instanceof Error) request.reject(outcome);
      else if (outcome) request.resolve(outcome);
    });
    this.notifySubscriptions();
    this.commits.postMessage(null);
  }

  private notifySubscriptions(): void {
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

  /**
   * The newest events, read again only once a commit may have moved them: one of this store's, or
   * one by another connection, which moves `PRAGMA data_version`. Every answer read from a projection
   * reports its lag from the newest deal event (deal-stream-lag.ts), and reading it whole (two rows,
   * their JSON parsed) cost several times that one pragma.
   */
  private newestEvents(): readonly RecordedEvent[] {
    const version = this.statements.dataVersion.get()!;
    if (this.newest?.version !== version || this.newest.flushes !== this.flushes) {
      const events = this.statements.allBackwards.all(lastInteger, newestKept).map(toRecordedEvent);
      this.newest = { version, flushes: this.flushes, events };
    }
    return this.newest.events;
  }

  /** The stream's last event, from the database; runs inside the write transaction. */
  private readHead(streamId: string): Head {
    const no = this.statements.streamNo.get(streamId);
    if (no === undefined) return noStream;
    const last = this.statements.last.get(no);
    return last ? { no, revision: last.revision, position: last.position } : { no, revision: -1, position: 0 };
  }

  /** Runs inside the batch transaction; `heads` holds the streams as earlier requests of the batch left them. */
  private write(request: AppendRequest, heads: Map<string, Head>, created: number): Outcome {
    const { streamId, expected, events } = request;
    const head = heads.get(streamId) ?? this.heads.get(streamId) ?? this.readHead(streamId);
    const { no } = head;
    const found = no === undefined || head.revision < 0 ? [] : events.map((event) => this.statements.eventId.get(no, event.id));

    // A retry: the first id sits exactly where this call would have put it (for any/stream_exists, anywhere).
    const first = found[0];
    const start = expected === 'no_stream' ? 0 : typeof expected === 'bigint' ? Number(expected) + 1 : first?.revision;
    if (first !== undefined && first.revision === start) {
      const last = found.at(-1);
      if (last === undefined || !found.every((place, index) => place?.revision === start + index)) {
        return new IdempotencyViolationError(
          streamId,
          `Append to ${streamId} repeats the events from revision ${start}, but not all of them in the same order`,
        );
      }
      return { nextExpectedRevision: BigInt(last.revision), position: toPosition(last.position) };
    }

    if (!holds(expected, head.revision)) {
      return new WrongExpectedRevisionError(streamId, expected, head.revision < 0 ? 'no_stream' : BigInt(head.revision));
    }
    const clash = found.findIndex((place) => place !== undefined);
    if (clash >= 0) {
      return new IdempotencyViolationError(
        streamId,
        `Event ${events[clash]?.id} is already in ${streamId} at revision ${found[clash]?.revision}, ` +
          'not where this append would put it',
      );
    }
    // An empty append lands here too: it checked the expectation and reports the stream's head.
    if (events.length === 0) return { nextExpectedRevision: BigInt(head.revision), position: toPosition(head.position) };

    const streamNo = no ?? Number(this.statements.insertStream.run(streamId).lastInsertRowid);
    let { revision, position } = head;
    for (const event of events) {
      revision += 1;
      const { lastInsertRowid } = this.statements.insert.run(
        streamNo,
        streamId,
        revision,
        event.id,
        event.type,
        event.data,
        event.metadata,
        created,
      );
      position = Number(lastInsertRowid);
    }
    heads.set(streamId, { no: streamNo, revision, position });
    return { nextExpectedRevision: BigInt(revision), position: toPosition(position) };
  }
}

const done: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * An AsyncIterable over pages read synchronously: each iteration starts its own reader, and each
 * event costs one settled promise, with no async generator machinery per event.
 */
function pages(start: () => () => RecordedEvent[]): AsyncIterable<RecordedEvent> {
  return {
    [Symbol.asyncIterator]: () => {
      let nextPage: (() => RecordedEvent[]) | undefined;
      let page: RecordedEvent[] = [];
      let index = 0;
      let finished = false;
      const iterator: AsyncIterableIterator<RecordedEvent> = {
        [Symbol.asyncIterator]: () => iterator,
        next: () => {
          try {
            while (index === page.length) {
              if (finished) return Promise.resolve(done);
              nextPage ??= start();
              page = nextPage();
              index = 0;
              // An empty page is the end: paginate answers one only when nothing is left.
              if (page.length === 0) finished = true;
            }
            return Promise.resolve({ done: false, value: page[index++]! });
          } catch (error) {
            finished = true;
            page = [];
            index = 0;
            return Promise.reject(error);
          }
        },
        return: () => {
          finished = true;
          page = [];
          index = 0;
          return Promise.resolve(done);
        },
      };
      return iterator;
    },
  };
}

/** Keyset pagination; answers the next page on each call, and an empty page once nothing is left. */
function paginate(
  read: (cursor: number | bigint, limit: number) => EventRow[],
  key: (row: EventRow) => number,
  from: bigint,
  forwards: boolean,
  maxCount = Number.MAX_SAFE_INTEGER,
): () => RecordedEvent[] {
  if (!Number.isSafeInteger(maxCount) || maxCount < 0) throw new RangeError(`Invalid maxCount ${maxCount}`);
  let remaining = maxCount;
  let cursor: number | bigint = from;
  return () => {
    if (remaining === 0) return [];
    const limit = Math.min(pageSize, remaining);
    const rows = read(cursor, limit);
    const last = rows.at(-1);
    remaining = last === undefined || rows.length < limit ? 0 : remaining - rows.length;
    if (last !== undefined) cursor = forwards ? key(last) + 1 : key(last) - 1;
    return rows.map(toRecordedEvent);
  };
}

class EmbeddedSubscription implements Subscription, AsyncIterableIterator<RecordedEvent> {
  /** Events read but not yet handed out, from `index` on. */
  private page: RecordedEvent[] = [];
  private index = 0;
  /** The read in progress, when the page ran out: next() calls made meanwhile wait for it. */
  private reading: Promise<IteratorResult<RecordedEvent>> | undefined;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly readAfter: (after: number) => { events: RecordedEvent[]; scannedTo: number },
    private after: number,
    private readonly pollIntervalMs: number,
    private readonly onEnd: (subscription: EmbeddedSubscription) => void,
  ) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<RecordedEvent> {
    return this;
  }

  next(): Promise<IteratorResult<RecordedEvent>> {
    if (this.reading) return this.reading.then(() => this.next());
    if (this.index < this.page.length) return Promise.resolve({ done: false, value: this.page[this.index++]! });
    this.reading = this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  async return(): Promise<IteratorResult<RecordedEvent>> {
    await this.close();
    return done;
  }

  /** Called after each commit in this process, so live delivery does not wait for the poll. */
  notify(): void {
    this.wake?.();
  }

  close(): Promise<void> {
    this.closed = true;
    this.page = [];
    this.index = 0;
    this.wake?.();
    this.onEnd(this);
    return Promise.resolve();
  }

  private async read(): Promise<IteratorResult<RecordedEvent>> {
    try {
      while (!this.closed) {
        // Always from the database, after the last position scanned: order follows positions, no gaps.
        const { events, scannedTo } = this.readAfter(this.after);
        if (scannedTo === this.after) {
          await this.idle();
          continue;
        }
        this.after = scannedTo;
        if (events.length > 0) {
          this.page = events;
          this.index = 1;
          return { done: false, value: events[0]! };
        }
      }
      return done;
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** Until a commit in this process, a close, or the poll interval (which catches other processes' appends). */
  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(wake, this.pollIntervalMs);
      this.wake = wake;
    });
  }
}

// position is the rowid: assigned in commit order, from 1, never reused since nothing is deleted.
// Streams are numbered in order of creation and events are indexed by that number, not by the name:
// the streams being written are the newest, so their index entries share a few B-tree pages and a
// group commit writes those few pages to the WAL instead of two random pages per event. The name
// stays on every event so that reads need no join.
function eventsTable(name: string): string {
  return `
CREATE TABLE ${name} (
  position  INTEGER PRIMARY KEY,
  stream_id TEXT    NOT NULL,
  revision  INTEGER NOT NULL,
  event_id  TEXT    NOT NULL,
  type      TEXT    NOT NULL,
  data      TEXT    NOT NULL,
  metadata  TEXT    NOT NULL,
  created   INTEGER NOT NULL,
  stream_no INTEGER NOT NULL REFERENCES streams (stream_no),
  UNIQUE (stream_no, revision)
) STRICT;`;
}

const streamsTable = `
CREATE TABLE streams (
  stream_no INTEGER PRIMARY KEY,
  stream_id TEXT    NOT NULL UNIQUE
) STRICT;`;

const eventIdIndex = 'CREATE UNIQUE INDEX events_by_stream_and_id ON events (stream_no, event_id);';

const schema = `${streamsTable}${eventsTable('events')}\n${eventIdIndex}`;

/** Version 1 indexed events by stream name; rewrites such a file to version 2, in one transaction. */
function migrateFromVersion1(db: Database.Database): void {
  db.transaction(() => {
    if (Number(db.pragma('user_version', { simple: true })) !== 1) return;
    db.exec(`
      ${streamsTable}
      INSERT INTO streams (stream_id) SELECT stream_id FROM events GROUP BY stream_id ORDER BY min(position);
      ${eventsTable('events_v2')}
      INSERT INTO events_v2 (position, stream_id, revision, event_id, type, data, metadata, created, stream_no)
        SELECT e.position, e.stream_id, e.revision, e.event_id, e.type, e.data, e.metadata, e.created, s.stream_no
        FROM events e JOIN streams s ON s.stream_id = e.stream_id ORDER BY e.position;
      DROP TABLE events;
      ALTER TABLE events_v2 RENAME TO events;
      ${eventIdIndex}
    `);
    db.pragma(`user_version = ${schemaVersion}`);
  }).immediate();
}

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

function holds(expected: ExpectedRevision, revision: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return revision < 0;
    case 'stream_exists':
      return revision >= 0;
    default:
      return BigInt(revision) === expected;
  }
}

function toPosition(position: number | bigint): Position {
  const value = BigInt(position);
  return { commit: value, prepare: value };
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  const position = BigInt(row[0]);
  return {
    id: row[3],
    type: row[4],
    streamId: row[1],
    revision: BigInt(row[2]),
    position: { commit: position, prepare: position },
    data: JSON.parse(row[5]) as JsonObject,
    metadata: JSON.parse(row[6]) as JsonObject,
    created: new Date(row[7]),
  };
}
