// The single-writer HTTP baseline: Emmett 0.38.5 + SQLite behind Express, driven by the same load generator
// and command mix as our API, with one client and with four. (The 64-client baselines, Emmett-PostgreSQL
// and bare node:http, sit beside our figure in the commands scenario.)
import { startEmmettSqliteHttp } from '../baselines/emmett-sqlite';
import { benchApiKey } from '../baselines/server-process';
import type { LoadResult } from '../load/generator';
import { type Figure, runWorker, type Scenario, summarize } from '../harness';

function note(results: readonly LoadResult[], serverErrors: ReadonlySet<string>): string | undefined {
  const statuses = new Map<string, number>();
  for (const result of results) for (const [status, count] of Object.entries(result.errors)) statuses.set(status, (statuses.get(status) ?? 0) + count);
  if (statuses.size === 0) return undefined;
  const answered = results.reduce((sum, result) => sum + result.requests, 0);
  const failed = [...statuses.values()].reduce((sum, count) => sum + count, 0);
  const counts = [...statuses].map(([status, count]) => `${status} ×${count}`).join(', ');
  return `${failed} of ${answered} requests failed (${counts})${serverErrors.size ? `: ${[...serverErrors].join('; ')}` : ''}`;
}

export const baselinesScenario: Scenario = {
  name: 'baselines',
  async run({ runs, smoke, log }): Promise<Figure[]> {
    const seconds = smoke ? 2 : 15;
    const warmup = smoke ? 1 : 3;
    const figures: Figure[] = [];
    for (const clients of [1, 4]) {
      const results: LoadResult[] = [];
      const serverErrors = new Set<string>();
      for (let run = 0; run < runs; run++) {
        const server = await startEmmettSqliteHttp();
        try {
          log(`  Emmett-SQLite over HTTP at ${server.url}, ${clients} client(s): run ${run + 1}/${runs}`);
          const args = ['--url', server.url, '--key', benchApiKey, '--clients', String(clients), '--seconds', String(seconds), '--warmup', String(warmup)];
          results.push(JSON.parse(await runWorker('load/generator.ts', args)) as LoadResult);
        } finally {
          await server.stop();
        }
        for (const message of server.serverErrors()) serverErrors.add(message);
      }
      const problems = note(results, serverErrors);
      figures.push({
        scenario: `deal commands over HTTP, ${clients} client${clients > 1 ? 's' : ''}`,
        variant: 'Emmett 0.38 + SQLite',
        unit: 'commands/s',
        ...summarize(results.map((result) => result.okPerSecond)),
        p50Ms: summarize(results.map((result) => result.p50Ms)).median,
        p99Ms: summarize(results.map((result) => result.p99Ms)).median,
        note: `baseline only (ours at 64 clients is in the commands rows)${problems ? `; ${problems}` : ''}`,
      });
    }
    return figures;
  },
};
