import { spawn } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import {
  EventToAppend,
  IdempotencyViolationError,
  RecordedEvent,
  WrongExpectedRevisionError,
} from '../event-store.port';
import { describeEventStoreConformance } from '../testing/event-store-conformance';
import { EmbeddedEventStore } from './embedded-event-store';

function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-event-store-'));
}

describeEventStoreConformance('embedded', async () => {
  const dir = makeTempDir();
  const file = path.join(dir, 'events.sqlite');
  let store = EmbeddedEventStore.open({ path: file, pollIntervalMs: 20 });
  return {
    store,
    reopen: async () => {
      await store.close();
      store = EmbeddedEventStore.open({ path: file, pollIntervalMs: 20 });
      return store;
    },
    cleanup: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('EmbeddedEventStore', () => {
  let dir: string;
  let file: string;
  let opened: EmbeddedEventStore[];

  function open(options: { pollIntervalMs?: number; busyTimeoutMs?: number } = {}): EmbeddedEventStore {
    const store = EmbeddedEventStore.open({ path: file, ...options });
    opened.push(store);
    return store;
  }

  beforeEach(() => {
    dir = makeTempDir();
    file = path.join(dir, 'events.sqlite');
    opened = [];
  });

  afterEach(async () => {
    await Promise.all(opened.map((store) => store.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs SQLite with WAL, synchronous=FULL and a busy timeout', () => {
    expect(open().pragmas()).toEqual({ journalMode: 'wal', synchronous: 2, busyTimeoutMs: 5_000, schemaVersion: 2 });
  });

  it('keeps events, revisions and positions across close and open, and continues after them', async () => {
    const first = open();
    const written = events(3);
    await first.appendToStream('deal-a', written.slice(0, 2));
    const last = await first.appendToStream('deal-b', written.slice(2));
    await first.close();

    const second = open();
    const all = await collect(second.readAll());
    expect(all.map((event) => [event.id, event.streamId, event.revision, event.position.commit])).toEqual([
      [written[0]!.id, 'deal-a', 0n, 1n],
      [written[1]!.id, 'deal-a', 1n, 2n],
      [written[2]!.id, 'deal-b', 0n, 3n],
    ]);
    expect(await second.appendToStream('deal-a', events(1), { expectedRevision: 1n })).toEqual({
      nextExpectedRevision: 2n,
      position: { commit: 4n, prepare: 4n },
    });

    const subscription = second.subscribeToAll({ fromPosition: last.position });
    const next = await subscription[Symbol.asyncIterator]().next();
    await subscription.close();
    expect(next.value).toMatchObject({ streamId: 'deal-a', revision: 2n });
  });

  it('refuses to open a file written with a newer schema', () => {
    const db = new Database(file);
    db.pragma('user_version = 3');
    db.close();
    expect(() => EmbeddedEventStore.open({ path: file })).toThrow(/schema version 3/);
  });

  it('rewrites a version 1 file (events indexed by stream name) to version 2, keeping every event and place', async () => {
    const db = new Database(file);
    db.exec(`
      CREATE TABLE events (
        position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, revision INTEGER NOT NULL, event_id TEXT NOT NULL,
        type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, created INTEGER NOT NULL,
        UNIQUE (stream_id, revision)
      ) STRICT;
      CREATE UNIQUE INDEX events_by_stream_and_id ON events (stream_id, event_id);
    `);
    const written = events(3);
    const insert = db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    [['deal-b', 0], ['deal-a', 0], ['deal-b', 1]].forEach(([stream, revision], index) =>
      insert.run(index + 1, stream, revision, written[index]!.id, 'Tested', '{"n":1}', '{}', 1_700_000_000_000),
    );
    db.pragma('user_version = 1');
    db.close();

    const store = open();
    expect(store.pragmas().schemaVersion).toBe(2);
    expect((await collect(store.readAll())).map((event) => [event.id, event.streamId, event.revision, event.position.commit])).toEqual([
      [written[0]!.id, 'deal-b', 0n, 1n],
      [written[1]!.id, 'deal-a', 0n, 2n],
      [written[2]!.id, 'deal-b', 1n, 3n],
    ]);
    expect(ids(await collect(store.readStream('deal-b')))).toEqual([written[0]!.id, written[2]!.id]);
    expect(await store.appendToStream('deal-b', written.slice(2), { expectedRevision: 0n })).toEqual({
      nextExpectedRevision: 1n,
      position: { commit: 3n, prepare: 3n },
    });
    await expect(store.appendToStream('deal-a', events(1), { expectedRevision: 'no_stream' })).rejects.toMatchObject({ actual: 0n });
    expect((await store.appendToStream('deal-a', events(1), { expectedRevision: 0n })).position.commit).toBe(4n);
  });

  it('two stores on one file check expected revisions against what the other wrote', async () => {
    const [a, b] = [open(), open()];
    await a.appendToStream('deal-a', events(1), { expectedRevision: 'no_stream' });
    await b.appendToStream('deal-a', events(1), { expectedRevision: 0n });
    await expect(a.appendToStream('deal-a', events(1), { expectedRevision: 0n })).rejects.toMatchObject({ actual: 1n });
    await a.appendToStream('deal-a', events(1), { expectedRevision: 1n });
    await expect(b.appendToStream('deal-a', events(1), { expectedRevision: 1n })).rejects.toMatchObject({ actual: 2n });
    // A stream another store created is found too, by name.
    await b.appendToStream('deal-b', events(2));
    await expect(a.appendToStream('deal-b', events(1), { expectedRevision: 'no_stream' })).rejects.toMatchObject({ actual: 1n });
    expect((await collect(a.readStream('deal-a'))).map((event) => event.revision)).toEqual([0n, 1n, 2n]);
  });

  it('the newest events, read backwards from the end, follow every commit since: its own and another connection’s', async () => {
    const [a, b] = [open(), open()];
    const newest = async (maxCount: number) => (await collect(a.readAll({ direction: 'backwards', maxCount }))).map((event) => event.position.commit);
    expect(await newest(2)).toEqual([]);
    await a.appendToStream('deal-a', events(1));
    expect(await newest(2)).toEqual([1n]);
    await b.appendToStream('deal-b', events(2));
    expect(await newest(2)).toEqual([3n, 2n]);
    expect(await newest(1)).toEqual([3n]);
    await a.appendToStream('deal-a', events(1));
    expect(await newest(2)).toEqual([4n, 3n]);
    expect(await newest(0)).toEqual([]);
  });

  it('close() writes the appends still queued before closing the file', async () => {
    const store = open();
    const pending = store.appendToStream('deal-a', events(2));
    await store.close();
    expect((await pending).nextExpectedRevision).toBe(1n);
    expect(await collect(open().readStream('deal-a'))).toHaveLength(2);
  });

  describe('group commit', () => {
    it('commits concurrent appends in one transaction', async () => {
      const store = open();
      const before = store.stats;
      await Promise.all(Array.from({ length: 64 }, (_, i) => store.appendToStream(`deal-${i}`, events(1))));
      expect(store.stats).toEqual({ flushes: before.flushes + 1, appends: before.appends + 64 });
    });

    it('caps one transaction at 1,000 appends', async () => {
      const store = open();
      await Promise.all(Array.from({ length: 2_500 }, (_, i) => store.appendToStream(`deal-${i % 7}`, events(1))));
      expect(store.stats).toEqual({ flushes: 3, appends: 2_500 });
      expect(await collect(store.readAll())).toHaveLength(2_500);
    });

    it('a refused append fails alone; the others of its transaction land, checked in queue order', async () => {
      const store = open();
      const [a, b, c] = [events(1), events(2), events(1)];
      const outcomes = await Promise.allSettled([
        store.appendToStream('deal-a', a, { expectedRevision: 'no_stream' }),
        store.appendToStream('deal-a', b, { expectedRevision: 'no_stream' }),
        store.appendToStream('deal-a', c, { expectedRevision: 0n }),
      ]);
      expect(store.stats.flushes).toBe(1);
      expect(outcomes[0]).toMatchObject({ status: 'fulfilled' });
      expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { actual: 0n } });
      expect(outcomes[2]).toMatchObject({ status: 'fulfilled', value: { nextExpectedRevision: 1n } });
      expect(ids(await collect(store.readStream('deal-a')))).toEqual(ids([...a, ...c]));
    });

    it('a failed transaction rejects every append in it and stores none of them', async () => {
      const store = open({ busyTimeoutMs: 50 });
      const blocker = new Database(file);
      blocker.exec('BEGIN IMMEDIATE');
      const outcomes = await Promise.allSettled([
        store.appendToStream('deal-a', events(1)),
        store.appendToStream('deal-b', events(1)),
      ]);
      blocker.exec('ROLLBACK');
      blocker.close();

      expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
      expect(outcomes[0]).toMatchObject({ reason: { code: 'SQLITE_BUSY' } });
      expect(await collect(store.readAll())).toEqual([]);
      expect((await store.appendToStream('deal-a', events(1))).nextExpectedRevision).toBe(0n);
    });
  });

  it('a subscription also sees appends made by another connection to the file', async () => {
    const reader = open({ pollIntervalMs: 20 });
    const writer = open();
    const subscription = reader.subscribeToAll({ fromPosition: 'start' });
    const iterator = subscription[Symbol.asyncIterator]();
    const pending = iterator.next();
    const written = events(1);
    await writer.appendToStream('deal-a', written);
    const next = await Promise.race([
      pending,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('not seen within 5 s')), 5_000).unref()),
    ]);
    await subscription.close();
    expect(next.value).toMatchObject({ id: written[0]!.id });
  });

  it('a subscription wakes at once for a commit made in another thread of the process, without waiting for the poll', async () => {
    const reader = open({ pollIntervalMs: 60_000 });
    const subscription = reader.subscribeToAll({ fromPosition: 'start' });
    const pending = subscription[Symbol.asyncIterator]().next();
    const id = randomUUID();
    const root = path.resolve(__dirname, '../../../..');
    const writer = new Worker(
      `require(${JSON.stringify(path.join(root, 'scripts/register-ts.js'))});
       const { EmbeddedEventStore } = require(${JSON.stringify(path.join(__dirname, 'embedded-event-store.ts'))});
       const store = EmbeddedEventStore.open({ path: ${JSON.stringify(file)} });
       store.appendToStream('deal-a', [{ id: ${JSON.stringify(id)}, type: 'Tested', data: {}, metadata: {} }]).then(() => store.close());`,
      { eval: true },
    );
    const next = await Promise.race([
      pending,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('not seen within 10 s')), 10_000).unref()),
    ]);
    await new Promise((done) => writer.once('exit', done));
    await subscription.close();
    expect(next.value).toMatchObject({ id });
  });

  describe('edge cases this adapter pins', () => {
    it("an empty append reports the head's position: the stream's last event, or 0/0 for no stream", async () => {
      const store = open();
      expect(await store.appendToStream('deal-a', [])).toEqual({
        nextExpectedRevision: -1n,
        position: { commit: 0n, prepare: 0n },
      });
      await store.appendToStream('deal-b', events(1));
      const last = await store.appendToStream('deal-a', events(2));
      await store.appendToStream('deal-b', events(1));
      expect(await store.appendToStream('deal-a', [], { expectedRevision: 1n })).toEqual(last);
    });

    it('an event id already elsewhere in the stream is refused, unlike in EventStoreDB', async () => {
      const store = open();
      const [x, y] = [events(1), events(1)];
      await store.appendToStream('deal-a', x);
      await store.appendToStream('deal-a', y);
      // Expected revision 1 holds, but x sits at 0, not at 2 where this append would put it.
      await expect(store.appendToStream('deal-a', x, { expectedRevision: 1n })).rejects.toBeInstanceOf(
        IdempotencyViolationError,
      );
      // A stale expectation whose place holds other events is a conflict, not a retry.
      await expect(store.appendToStream('deal-a', y, { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      expect(await collect(store.readStream('deal-a'))).toHaveLength(2);
    });

    it('refuses the same event id twice in one append, and ids that are not UUIDs', async () => {
      const store = open();
      const [twice] = events(1);
      await expect(store.appendToStream('deal-a', [twice!, twice!])).rejects.toBeInstanceOf(IdempotencyViolationError);
      await expect(store.appendToStream('deal-a', [{ ...twice!, id: 'not-a-uuid' }])).rejects.toThrow(/not a UUID/);
      expect(await collect(store.readAll())).toEqual([]);
    });

    it('compares event ids without regard to case, and stores them in lower case', async () => {
      const store = open();
      const written = events(1);
      const upperCase = written.map((event) => ({ ...event, id: event.id.toUpperCase() }));
      const first = await store.appendToStream('deal-a', upperCase);
      expect(await store.appendToStream('deal-a', written)).toEqual(first);
      expect(ids(await collect(store.readStream('deal-a')))).toEqual(ids(written));
    });
  });

  describe('crash safety', () => {
    const crashWriter = path.join(__dirname, 'testing', 'crash-writer.ts');
    const registerTs = path.resolve(__dirname, '../../../../scripts/register-ts.js');

    interface Ack {
      readonly stream: string;
      readonly ids: readonly string[];
    }

    /** Runs the crash writer until it has acknowledged `acks` appends, then kills it with SIGKILL. */
    function runAndKill(acks: number): Promise<Ack[]> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--require', registerTs, crashWriter, file], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const seen: Ack[] = [];
        let partial = '';
        let stderr = '';
        const watchdog = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          const lines = (partial + chunk).split('\n');
          // The last piece is incomplete (or empty): the kill may cut a line in half.
          partial = lines.pop() ?? '';
          for (const line of lines) seen.push(JSON.parse(line) as Ack);
          if (seen.length >= acks) child.kill('SIGKILL');
        });
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        child.on('error', reject);
        // 'close' waits for stdout to drain, so every ack written before the kill is counted.
        child.on('close', (code, signal) => {
          clearTimeout(watchdog);
          if (signal === 'SIGKILL' && seen.length >= acks) resolve(seen);
          else reject(new Error(`Crash writer ended (${code ?? signal}) after ${seen.length} acks: ${stderr}`));
        });
      });
    }

    /** What is wrong with the store after a crash; empty when nothing is. */
    function problems(all: readonly RecordedEvent[], acks: readonly Ack[]): string[] {
      const found: string[] = [];
      const byId = new Map(all.map((event) => [event.id, event]));
      for (const ack of acks) {
        const stored = ack.ids.map((id) => byId.get(id));
        const first = stored[0];
        stored.forEach((event, index) => {
          if (event === undefined) found.push(`acknowledged event ${ack.ids[index]} is missing`);
          else if (event.streamId !== ack.stream || event.revision !== (first?.revision ?? -1n) + BigInt(index)) {
            found.push(`acknowledged event ${event.id} is at ${event.streamId}@${event.revision}`);
          }
        });
      }
      const revisions = new Map<string, bigint[]>();
      const appends = new Map<string, RecordedEvent[]>();
      for (const event of all) {
        revisions.set(event.streamId, [...(revisions.get(event.streamId) ?? []), event.revision]);
        if (event.type !== 'CrashTested') continue;
        const append = String(event.data['append']);
        appends.set(append, [...(appends.get(append) ?? []), event]);
      }
      for (const [stream, list] of revisions) {
        if (list.some((revision, index) => revision !== BigInt(index))) {
          found.push(`${stream} has a gap: ${list.join(',')}`);
        }
      }
      for (const [append, list] of appends) {
        const start = list[0]?.revision ?? 0n;
        const complete =
          list.length === list[0]?.data['count'] &&
          list.every((event, index) => event.data['index'] === index && event.revision === start + BigInt(index));
        if (!complete) found.push(`append ${append} is half-written: ${list.length} events`);
      }
      return found;
    }

    it(
      'after SIGKILL mid-write, every acknowledged append is there, whole, and nothing is half-written',
      async () => {
        for (let iteration = 0; iteration < 3; iteration += 1) {
          const acks = await runAndKill(200 + randomInt(1_800));

          const store = open();
          const all = await collect(store.readAll());
          expect(all.length).toBeGreaterThanOrEqual(acks.length);
          expect(problems(all, acks)).toEqual([]);
          const own = await collect(store.readStream('own-0', { direction: 'backwards', maxCount: 1 }));
          await store.appendToStream('own-0', events(1), { expectedRevision: own[0]?.revision ?? 'no_stream' });
          await store.appendToStream('shared-0', events(2));
          await store.close();
        }
      },
      40_000,
    );
  });
});

function events(count: number): EventToAppend[] {
  return Array.from({ length: count }, () => ({ id: randomUUID(), type: 'Tested', data: { n: count }, metadata: {} }));
}

function ids(list: readonly { readonly id: string }[]): string[] {
  return list.map((item) => item.id);
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
