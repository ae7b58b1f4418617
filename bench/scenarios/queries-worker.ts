// The API the queries scenario measures, in a process of its own: copies the data set's event store
// into a fresh data directory, rebuilds the projections the questions read (pipeline and analytics;
// no question asks the audit log), then serves the real application over a real socket with them at
// the head (API_WORKERS=off: nothing rebuilds or catches up while queries are timed). Prints one JSON
// line, { url, deals, buildSeconds }, once it listens, and stops when its stdin closes. A second
// argument (BENCH_QUERIES_DATA_DIR in queries.ts) names a directory prepared so before, served as it
// is: for re-measuring without the rebuild.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedEventStore } from '@deals/event-store';
import { analyticsDealCollection, analyticsProjection, pipelineProjection, ProjectionRunner } from '@deals/projections';
import { EmbeddedReadModelStore } from '@deals/read-models';
import { startTestApp } from '../../apps/api/src/testing/test-app';

async function main(): Promise<void> {
  const [eventsFile, preparedDir] = process.argv.slice(2);
  if (!eventsFile) throw new Error('usage: queries-worker <events.sqlite> [prepared data dir]');
  // A prepared directory (events.sqlite and read-models.sqlite at the head) is served as it is.
  const dataDir = preparedDir ?? mkdtempSync(join(tmpdir(), 'bench-queries-'));
  try {
    const started = performance.now();
    if (!preparedDir) copyFileSync(eventsFile, join(dataDir, 'events.sqlite'));
    const events = EmbeddedEventStore.open({ path: join(dataDir, 'events.sqlite') });
    const readModels = EmbeddedReadModelStore.open(join(dataDir, 'read-models.sqlite'));
    let deals = 0;
    try {
      if (!preparedDir) for (const projection of [pipelineProjection, analyticsProjection]) await new ProjectionRunner(events, readModels, projection).rebuild();
      for await (const _ of readModels.scan(analyticsDealCollection, { pageSize: 5_000 })) deals++;
    } finally {
      await readModels.close();
      await events.close();
    }
    const buildSeconds = (performance.now() - started) / 1000;
    const api = await startTestApp({ apiWorkers: 'off' }, { dataDir });
    process.stdout.write(`${JSON.stringify({ url: api.url, deals, buildSeconds })}\n`);
    await new Promise<void>((done) => process.stdin.once('close', done).resume());
    await api.close();
  } finally {
    if (!preparedDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
