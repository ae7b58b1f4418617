// The single-writer HTTP baseline: Emmett 0.38.5 + SQLite behind Express, beside our API, both driven by
// the same load generator and command mix with one client and with four (Emmett-SQLite cannot serve
// more). The 64-client baselines, Emmett-PostgreSQL and bare node:http, are in the commands scenario.
import { startEmmettSqliteHttp } from '../baselines/emmett-sqlite';
import { type BaselineServer, benchApiKey } from '../baselines/server-process';
import type { LoadResult } from '../load/generator';
import { type Figure, runWorker, type Scenario, summarize } from '../harness';
import { startApi } from './commands';

interface Measured {
  readonly results: readonly LoadResult[];
  readonly serverErrors: ReadonlySet<string>;
}

async function measure(
  start: () => Promise<Pick<BaselineServer, 'url' | 'stop'> & Partial<Pick<BaselineServer, 'serverErrors'>>>,
  clients: number,
  { runs, seconds, warmup, log, name }: { runs: number; seconds: number; warmup: number; log: (line: string) => void; name: string },
): Promise<Measured> {
  const results: LoadResult[] = [];
  const serverErrors = new Set<string>();
  for (let run = 0; run < runs; run++) {
    const server = await start();
    try {
      log(`  ${name} at ${server.url}, ${clients} client(s): run ${run + 1}/${runs}`);
      const args = ['--url', server.url, '--key', benchApiKey, '--clients', String(clients), '--seconds', String(seconds), '--warmup', String(warmup)];
      results.push(JSON.parse(await runWorker('load/generator.ts', args)) as LoadResult);
    } finally {
      await server.stop();
    }
    for (const message of server.serverErrors?.() ?? []) serverErrors.add(message);
  }
  return { results, serverErrors };
}

/** Failed requests by status, with the server's own error messages when it gave any. */
function failures({ results, serverErrors }: Measured): string | undefined {
  const statuses = new Map<string, number>();
  for (const result of results) for (const [status, count] of Object.entries(result.errors)) statuses.set(status, (statuses.get(status) ?? 0) + count);
  if (statuses.size === 0) return undefined;
  const answered = results.reduce((sum, result) => sum + result.requests, 0);
  const failed = [...statuses.values()].reduce((sum, count) => sum + count, 0);
  const counts = [...statuses].map(([status, count]) => `${status} ×${count}`).join(', ');
  return `${failed} of ${answered} requests failed (${counts})${serverErrors.size ? `: ${[...serverErrors].join('; ')}` : ''}`;
}

function figure(clients: number, variant: string, measured: Measured, extra: Partial<Figure> = {}): Figure {
  const problems = failures(measured);
  return {
    scenario: `deal commands over HTTP, ${clients} client${clients > 1 ? 's' : ''}`,
    variant,
    unit: 'commands/s',
    ...summarize(measured.results.map((result) => result.okPerSecond)),
    p50Ms: summarize(measured.results.map((result) => result.p50Ms)).median,
    p99Ms: summarize(measured.results.map((result) => result.p99Ms)).median,
    ...(problems ? { note: problems } : {}),
    ...extra,
  };
}

export const baselinesScenario: Scenario = {
  name: 'baselines',
  async run({ runs, smoke, log }): Promise<Figure[]> {
    const options = { runs, seconds: smoke ? 2 : 15, warmup: smoke ? 1 : 3, log };
    const figures: Figure[] = [];
    for (const clients of [1, 4]) {
      const ours = figure(clients, 'ours, embedded defaults', await measure(startApi, clients, { ...options, name: 'our API' }));
      const theirs = figure(clients, 'Emmett 0.38 + SQLite (Express)', await measure(startEmmettSqliteHttp, clients, { ...options, name: 'Emmett-SQLite' }));
      const ratio = theirs.median > 0 ? `${(ours.median / theirs.median).toFixed(1)}x Emmett-SQLite` : 'Emmett-SQLite failed every request';
      figures.push({ ...ours, ratio }, theirs);
    }
    return figures;
  },
};
