// The single-writer baseline: Emmett 0.38.5 on its SQLite event store (sqlite3 driver, WAL, SQLite's
// default synchronous=FULL), used as its documentation shows: getSQLiteEventStore({ fileName }).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DealState, initialDealState } from '@deals/domain';
import { dealHistories } from './deal-histories';
import { type EmmettDealEvent, evolveEmmett, toEmmettEvent } from './emmett-deal';
import { contractVersion, emmettDealApp, type EmmettDealStreams, emmettExpectedVersion, isEmmettVersionConflict } from './emmett-express';
import { type BaselineServer, benchApiKey, serve, serverErrorReporter, startServerProcess } from './server-process';
import { CommandHandler, getSQLiteEventStore, STREAM_DOES_NOT_EXIST } from './sqlite-pair';

const benchMetadata = { actor: 'bench', commandId: 'bench', correlationId: 'bench' };

function removeDatabase(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${file}${suffix}`, { force: true });
}

/** Gives up on an append after this many failures in a row: the store is then broken, not busy. */
const maxAttempts = 5;

/**
 * Single-event appends from one sequential writer with Emmett's appendToStream: the load generator's
 * deal lives, each deal on a fresh stream, each event appended alone with its expected stream version.
 * Even one writer now and then gets SQLITE_BUSY ("cannot commit transaction - SQL statements in
 * progress"; the store opens a connection per call, probably meeting its own unawaited
 * `PRAGMA journal_mode`): such an append is retried, as a user would, and counted in `failedAttempts`.
 */
export async function measureEmmettSqliteAppends(options: {
  events: number;
  dir: string;
}): Promise<{ eventsPerSecond: number; failedAttempts: number; firstError?: string }> {
  const histories = await dealHistories(options.events);
  const file = join(options.dir, `emmett-${randomUUID()}.sqlite`);
  const store = getSQLiteEventStore({ fileName: file });
  let failedAttempts = 0;
  let firstError: string | undefined;
  const append = async (streamName: string, event: EmmettDealEvent, position: number): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await store.appendToStream(streamName, [event], { expectedStreamVersion: position === 0 ? STREAM_DOES_NOT_EXIST : BigInt(position) });
        return;
      } catch (error) {
        // A conflict on a retry means the failed attempt did commit after all.
        if (attempt > 1 && isEmmettVersionConflict(error)) return;
        failedAttempts++;
        firstError ??= error instanceof Error ? error.message : String(error);
        if (attempt === maxAttempts) throw error;
      }
    }
  };
  // Emmett-SQLite logs each failed transaction with console.log; a worker's stdout carries only its result.
  const log = console.log;
  console.log = console.error;
  try {
    let appended = 0;
    const started = performance.now();
    for (const { dealId, events } of histories) {
      for (let index = 0; index < events.length && appended < options.events; index++, appended++) {
        await append(`deal-${dealId}`, toEmmettEvent(events[index]!, benchMetadata), index);
      }
    }
    const eventsPerSecond = appended / ((performance.now() - started) / 1000);
    return { eventsPerSecond, failedAttempts, ...(firstError === undefined ? {} : { firstError }) };
  } finally {
    console.log = log;
    removeDatabase(file);
  }
}

/** Emmett's CommandHandler on a SQLite event store file: the deal streams the Express app serves. */
export function emmettSqliteStreams(file: string): EmmettDealStreams {
  const store = getSQLiteEventStore({ fileName: file });
  const handle = CommandHandler<DealState, EmmettDealEvent>({ evolve: evolveEmmett, initialState: () => initialDealState });
  return {
    async handle(dealId, decide, expected) {
      const expectedStreamVersion = emmettExpectedVersion(expected, STREAM_DOES_NOT_EXIST);
      const result = await handle(store, `deal-${dealId}`, decide, expectedStreamVersion === undefined ? undefined : { expectedStreamVersion });
      return { version: contractVersion(result.nextExpectedStreamVersion), state: result.newState };
    },
  };
}

/** The Express app on Emmett-SQLite in a process of its own, on a fresh database file. */
export async function startEmmettSqliteHttp(options: { apiKey?: string } = {}): Promise<BaselineServer> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-emmett-sqlite-'));
  return startServerProcess('baselines/emmett-sqlite.ts', [join(dir, 'events.sqlite'), options.apiKey ?? benchApiKey], async () =>
    rmSync(dir, { recursive: true, force: true }),
  );
}

if (require.main === module && process.argv[2] === 'serve') {
  const [file, apiKey] = process.argv.slice(3);
  if (!file || !apiKey) throw new Error('usage: emmett-sqlite.ts serve <database file> <api key>');
  void serve(createServer(emmettDealApp(emmettSqliteStreams(file), apiKey, serverErrorReporter())));
}
