// The API the queries scenario measures, in a process of its own: copies the data set's event store
// into a fresh data directory, rebuilds every projection (the questions read pipeline and analytics;
// audit too, or the API's projectors would catch it up while the questions are timed), then serves the real application over a real socket with them at
// the head, its projections running in process at the production commit interval (nothing projects
// until the scenario's last run writes commands). Prints one JSON line, { url, deals, buildSeconds },
// once it listens, and stops when its stdin closes. A second argument (BENCH_QUERIES_DATA_DIR in
// queries.ts) names a directory prepared so before, whose files are served from a copy (the writes
// would change them): for re-measuring without the rebuild.
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedEventStore } from '@deals/event-store';
import { analyticsDealCollection, analyticsProjection, auditProjection, pipelineProjection, ProjectionRunner } from '@deals/projections';
import { EmbeddedReadModelStore } from '@deals/read-models';
import { startTestApp } from '../../apps/api/src/testing/test-app';

async function main(): Promise<void> {
  const [eventsFile, preparedDir] = process.argv.slice(2);
  if (!eventsFile) throw new Error('usage: queries-worker <events.sqlite> [prepared data dir]');
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-queries-'));
  try {
    const started = performance.now();
    const files = preparedDir ? ['events.sqlite', 'read-models.sqlite'].flatMap((name) => [name, `${name}-wal`]) : [];
    for (const name of files) if (existsSync(join(preparedDir!, name))) copyFileSync(join(preparedDir!, name), join(dataDir, name));
    if (!preparedDir) copyFileSync(eventsFile, join(dataDir, 'events.sqlite'));
    const events = EmbeddedEventStore.open({ path: join(dataDir, 'events.sqlite') });
    const readModels = EmbeddedReadModelStore.open(join(dataDir, 'read-models.sqlite'));
    let deals = 0;
    try {
      if (!preparedDir) for (const projection of [pipelineProjection, analyticsProjection, auditProjection]) await new ProjectionRunner(events, readModels, projection).rebuild();
      for await (const _ of readModels.scan(analyticsDealCollection, { pageSize: 5_000 })) deals++;
    } finally {
      await readModels.close();
      await events.close();
    }
    const buildSeconds = (performance.now() - started) / 1000;
    const api = await startTestApp({ projectionCommitIntervalMs: 100 }, { dataDir });
    process.stdout.write(`${JSON.stringify({ url: api.url, deals, buildSeconds })}\n`);
    await new Promise<void>((done) => process.stdin.once('close', done).resume());
    await api.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
