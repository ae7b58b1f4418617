// One measurement of the embedded event store (or of a baseline) in a process of its own. Appends
// replay the load generator's deal lives (the events the API writes), one event per append with the
// expected revision, each deal on a fresh stream, as the API appends commands. Prints one JSON line.
//
// Usage: append-worker.ts <events.sqlite> <mode> <count>
//   concurrent | sequential: our store, 64 writers or one, `count` events
//   raw-single | raw-batch: raw better-sqlite3, 1 or 64 events per transaction
//   emmett: Emmett-SQLite, one sequential writer, `count` events
//   read: subscribeToAll from the start over the data set (`count` ignored); raw-read: the same rows raw
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dealStreamId, dealStreamPrefix, toEventToAppend } from '@deals/deal-streams';
import { EmbeddedEventStore, type ExpectedRevision, type JsonObject } from '@deals/event-store';
import { dealHistories } from '../baselines/deal-histories';
import { measureEmmettSqliteAppends } from '../baselines/emmett-sqlite';
import { rawAppendRate, rawReadRate } from '../baselines/raw-sqlite';

const concurrentWriters = 64;
const rawBatch = 64;
/** Deal lives generated once and replayed in turn on fresh streams: enough for a realistic mix. */
const templateEvents = 20_000;

interface Template {
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
}

export interface AppendWorkerResult {
  readonly eventsPerSecond: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** Process CPU (user + system, every thread) per event over the timed part; the steadier measure on a busy machine. */
  readonly cpuUsPerEvent?: number;
  readonly peakRssBytes: number;
}

/** Deal lives as the API would append them: each a list of its events in order, ids given at append time. */
async function loadDeals(): Promise<Template[][]> {
  return (await dealHistories(templateEvents)).map(({ dealId, events }) =>
    events.map((event) => {
      const { type, data, metadata } = toEventToAppend(randomUUID(), event, {
        actor: 'bench',
        commandId: randomUUID(),
        correlationId: dealId,
        causationId: dealId,
        recordedAt: new Date().toISOString(),
      });
      return { type, data, metadata };
    }),
  );
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function appendRun(deals: readonly Template[][], total: number, writers: number): Promise<Omit<AppendWorkerResult, 'peakRssBytes'>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-append-'));
  const store = EmbeddedEventStore.open({ path: join(dir, 'events.sqlite') });
  const latencies = new Float64Array(total);
  let issued = 0;
  let nextDeal = 0;
  const writer = async () => {
    while (issued < total) {
      const deal = deals[nextDeal++ % deals.length]!;
      const stream = dealStreamId(randomUUID());
      let expectedRevision: ExpectedRevision = 'no_stream';
      for (const template of deal) {
        if (issued >= total) return;
        const index = issued++;
        const started = performance.now();
        const result = await store.appendToStream(stream, [{ id: randomUUID(), ...template }], { expectedRevision });
        latencies[index] = performance.now() - started;
        expectedRevision = result.nextExpectedRevision;
      }
    }
  };
  try {
    const started = performance.now();
    const cpu = process.cpuUsage();
    await Promise.all(Array.from({ length: writers }, writer));
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    latencies.sort();
    return {
      eventsPerSecond: total / seconds,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      cpuUsPerEvent: (used.user + used.system) / total,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** subscribeToAll from the start until the data set's last event, as the projection runner subscribes. */
async function readRun(file: string): Promise<number> {
  const store = EmbeddedEventStore.open({ path: file });
  try {
    let last = 0n;
    for await (const event of store.readAll({ direction: 'backwards', maxCount: 1 })) last = event.position.commit;
    let count = 0;
    const started = performance.now();
    const subscription = store.subscribeToAll({ fromPosition: 'start', streamPrefixes: [dealStreamPrefix] });
    for await (const event of subscription) {
      count++;
      if (event.position.commit >= last) break;
    }
    await subscription.close();
    return count / ((performance.now() - started) / 1000);
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const [file, mode, countText] = process.argv.slice(2);
  const count = Number(countText);
  if (!file || !mode || !Number.isSafeInteger(count) || count < 1) throw new Error('usage: append-worker <events.sqlite> <mode> <count>');
  const rawEvents = async () => (await loadDeals()).flat().map((event) => ({ type: event.type, data: JSON.stringify(event.data), metadata: JSON.stringify(event.metadata) }));
  let result: Omit<AppendWorkerResult, 'peakRssBytes'>;
  switch (mode) {
    case 'concurrent':
      result = await appendRun(await loadDeals(), count, concurrentWriters);
      break;
    case 'sequential':
      result = await appendRun(await loadDeals(), count, 1);
      break;
    case 'raw-single':
      result = { eventsPerSecond: rawAppendRate(await rawEvents(), count, 1) };
      break;
    case 'raw-batch':
      result = { eventsPerSecond: rawAppendRate(await rawEvents(), count, rawBatch) };
      break;
    case 'emmett': {
      const dir = mkdtempSync(join(tmpdir(), 'bench-emmett-'));
      try {
        result = { eventsPerSecond: (await measureEmmettSqliteAppends({ events: count, dir })).eventsPerSecond };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      break;
    }
    case 'read':
      result = { eventsPerSecond: await readRun(file) };
      break;
    case 'raw-read':
      result = { eventsPerSecond: rawReadRate(file) };
      break;
    default:
      throw new Error(`Unknown mode ${mode}`);
  }
  process.stdout.write(`${JSON.stringify({ ...result, peakRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
