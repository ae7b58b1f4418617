// One rebuild of every projection from the first event, in a process of its own so that its peak
// resident memory is its own. Prints one JSON line: events, seconds and peak RSS per projection.
// With `raw` for the store: the limit instead, better-sqlite3 reading and JSON-parsing the same rows.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedEventStore } from '@deals/event-store';
import { analyticsProjection, auditProjection, pipelineProjection, ProjectionRunner } from '@deals/projections';
import { EmbeddedReadModelStore, type ReadModelStore, RedisReadModelStore } from '@deals/read-models';
import { rawReadRate } from '../baselines/raw-sqlite';

async function main(): Promise<void> {
  const [eventsFile, storeKind, redisUrl, only] = process.argv.slice(2);
  if (!eventsFile || (storeKind !== 'embedded' && storeKind !== 'redis' && storeKind !== 'raw')) {
    throw new Error('usage: rebuild-worker <events.sqlite> embedded|redis|raw [redisUrl] [projection,…]');
  }
  if (storeKind === 'raw') {
    process.stdout.write(`${JSON.stringify({ eventsPerSecond: rawReadRate(eventsFile) })}\n`);
    return;
  }
  const wanted = only?.split(',');
  const events = EmbeddedEventStore.open({ path: eventsFile });
  const dir = mkdtempSync(join(tmpdir(), 'bench-read-models-'));
  const keyPrefix = `bench:${randomUUID()}:`;
  const store: ReadModelStore =
    storeKind === 'embedded'
      ? EmbeddedReadModelStore.open(join(dir, 'read-models.sqlite'))
      : await RedisReadModelStore.connect(redisUrl ?? 'redis://127.0.0.1:6379', { keyPrefix });
  const results: Array<{ projection: string; events: number; seconds: number; cpuSeconds: number }> = [];
  try {
    for (const projection of [pipelineProjection, analyticsProjection, auditProjection].filter(({ name }) => !wanted || wanted.includes(name))) {
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      const status = await new ProjectionRunner(events, store, projection).rebuild();
      const cpu = process.cpuUsage(cpuBefore);
      results.push({
        projection: projection.name,
        events: status.eventsProcessed,
        seconds: (performance.now() - started) / 1000,
        // On a busy machine, CPU time shows a change that wall time drowns in noise.
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
      });
      await store.reset(projection.name);
    }
  } finally {
    await store.close();
    await events.close();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify({ results, peakRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
