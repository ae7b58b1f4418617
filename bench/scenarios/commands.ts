// Deal commands over HTTP: our API as `npm start` runs it (embedded event store, idempotency store and
// read models, projections in-process), in its own process on a fresh data directory, driven by the load
// generator (bench/load) in another process with 64 keep-alive clients. The baselines, when their modules
// exist, are driven by the same generator in the same run: Emmett with PostgreSQL, and a bare node:http
// server answering a fixed JSON (the ceiling of any Node HTTP service on this machine).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBareHttp } from '../baselines/bare-http';
import { postgresqlAnswers, postgresqlUrl, startEmmettPostgresqlHttp } from '../baselines/emmett-postgresql';
import { type BaselineServer, benchApiKey } from '../baselines/server-process';
import type { LoadResult } from '../load/generator';
import { type Figure, notRun, root, runWorker, type Scenario, summarize } from '../harness';
import { atLeast, p99AtMost, type Target } from '../targets';

const clients = 64;
const apiKey = benchApiKey;

interface StartedServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** A baseline the generator drives like our API; `label` names it in the ratio ("5.2x Emmett-PostgreSQL"). */
interface HttpBaseline {
  readonly variant: string;
  readonly label: string;
  /** Why it cannot run here, when it cannot. */
  unavailable(): Promise<string | undefined>;
  start(): Promise<BaselineServer>;
}

const baselines: readonly HttpBaseline[] = [
  {
    variant: 'Emmett 0.42 + PostgreSQL (Express)',
    label: 'Emmett-PostgreSQL',
    unavailable: async () => ((await postgresqlAnswers()) ? undefined : `no PostgreSQL at ${postgresqlUrl}`),
    start: () => startEmmettPostgresqlHttp({ apiKey }),
  },
  { variant: 'bare node:http, fixed JSON', label: 'bare node:http', unavailable: async () => undefined, start: startBareHttp },
];

/** A service of ours in a child process; answers once it says where it listens. */
async function startService(entry: string, env: Readonly<Record<string, string>>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--require', join(root, 'scripts/register-ts.js'), join(root, entry)], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((done, fail) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        const match = /listening on (http:\/\/[^\s\x1b]+)/.exec(out);
        if (match) done(match[1]!.replace('[::1]', '127.0.0.1'));
      });
      child.once('exit', (code) => fail(new Error(`${entry} exited with ${code} before listening`)));
    });
    // Keep reading, so a full pipe never blocks the service.
    child.stdout!.resume();
    return { child, url };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

/**
 * Our API in a child process, as `npm start` configures it but on a fresh data directory and a free port.
 * With `projector`, the API runs no workers (API_WORKERS=off) and the projector app projects in a process
 * of its own on the same data directory, as in production.
 */
export async function startApi({ projector = false } = {}): Promise<StartedServer & { readonly pid: number; peakRssMb(): number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-commands-'));
  const env = { DATA_DIR: dataDir, SEED_DEMO: 'false', API_KEYS: `${apiKey}=bench:sales`, API_WORKERS: projector ? 'off' : 'in-process' };
  const children: ChildProcess[] = [];
  try {
    const api = await startService('apps/api/src/main.ts', env);
    children.push(api.child);
    if (projector) children.push((await startService('apps/projector/src/main.ts', env)).child);
    let peak = 0;
    return {
      url: api.url,
      pid: api.child.pid!,
      peakRssMb: () => peak,
      async stop() {
        peak = peakRssMb(api.child);
        await Promise.all(children.map(stopChild));
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(children.map(stopChild));
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** The kernel's high-water mark of the process's resident set. */
function peakRssMb(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kilobytes = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
  return kilobytes / 1024;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}

function drive(url: string, seconds: number, warmup: number, serverPid?: number): Promise<LoadResult> {
  const args = ['--url', url, '--key', apiKey, '--clients', String(clients), '--seconds', String(seconds), '--warmup', String(warmup)];
  if (serverPid !== undefined) args.push('--server-pid', String(serverPid));
  return runWorker('load/generator.ts', args).then((out) => JSON.parse(out) as LoadResult);
}

function figure(variant: string, results: readonly LoadResult[], extra: Partial<Figure> = {}): Figure {
  const errors = new Map<string, number>();
  for (const result of results) for (const [status, count] of Object.entries(result.errors)) errors.set(status, (errors.get(status) ?? 0) + count);
  const note = errors.size ? `errors: ${[...errors].map(([status, count]) => `${status} ×${count}`).join(', ')}` : undefined;
  return {
    scenario: `deal commands over HTTP, ${clients} clients`,
    variant,
    unit: 'commands/s',
    ...summarize(results.map((result) => result.okPerSecond)),
    p50Ms: summarize(results.map((result) => result.p50Ms)).median,
    p99Ms: summarize(results.map((result) => result.p99Ms)).median,
    ...(note ? { note } : {}),
    ...extra,
  };
}

/** Issue #5: 5x Emmett-PostgreSQL, 30% of the bare server, p99 25 ms; a baseline that did not run leaves its bound unmeasured. */
function target(ours: Figure, baselines: ReadonlyArray<{ label: string; median: number }>): Target {
  const versus = (label: string) => {
    const theirs = baselines.find((baseline) => baseline.label === label)?.median;
    return theirs === undefined ? undefined : ours.median / theirs;
  };
  const share = versus('bare node:http');
  return {
    goal: '≥ 5x Emmett-PostgreSQL, ≥ 30% of bare node:http, p99 ≤ 25 ms',
    bounds: [
      atLeast('vs Emmett-PostgreSQL', 'x', versus('Emmett-PostgreSQL'), 5),
      atLeast('share of bare node:http', '%', share === undefined ? undefined : 100 * share, 30),
      p99AtMost(ours.p99Ms, 25),
    ],
  };
}

function ratio(ours: number, theirs: number, label: string): string {
  return label === 'bare node:http' ? `${Math.round((ours / theirs) * 100)}% of ${label}` : `${(ours / theirs).toFixed(1)}x ${label}`;
}

export const commandsScenario: Scenario = {
  name: 'commands',
  async run({ runs, smoke, log }): Promise<Figure[]> {
    const seconds = smoke ? 3 : 15;
    const warmup = smoke ? 1 : 3;
    const variants = [
      { variant: 'ours, embedded defaults', projector: false },
      { variant: 'ours, API_WORKERS=off + projector process', projector: true },
    ];
    const oursFigures: Figure[] = [];
    for (const { variant, projector } of variants) {
      const results: LoadResult[] = [];
      const rss: number[] = [];
      for (let run = 0; run < runs; run++) {
        const api = await startApi({ projector });
        try {
          log(`  ${variant} at ${api.url}: run ${run + 1}/${runs}, ${seconds} s after ${warmup} s warm-up`);
          results.push(await drive(api.url, seconds, warmup, api.pid));
        } finally {
          await api.stop();
        }
        rss.push(api.peakRssMb());
      }
      // CPU per command does not depend on how much of the machine the server got: the figure to compare on a busy machine.
      const cpuUs = summarize(results.map((result) => result.serverCpuUsPerRequest ?? NaN)).median;
      const measured = figure(variant, results, { peakRssMb: Math.max(...rss) });
      oursFigures.push({ ...measured, note: [`API CPU ${Math.round(cpuUs)} µs/command`, measured.note].filter(Boolean).join('; ') });
    }
    const scenario = oursFigures[0]!.scenario;
    const baselineFigures: Figure[] = [];
    const measuredBaselines: Array<{ label: string; median: number }> = [];
    for (const baseline of baselines) {
      const reason = await baseline.unavailable();
      if (reason) {
        baselineFigures.push(notRun(scenario, baseline.variant, 'commands/s', reason));
        continue;
      }
      const results: LoadResult[] = [];
      const serverErrors = new Set<string>();
      for (let run = 0; run < runs; run++) {
        const server = await baseline.start();
        try {
          log(`  ${baseline.variant} at ${server.url}: run ${run + 1}/${runs}`);
          results.push(await drive(server.url, seconds, warmup));
          for (const message of server.serverErrors()) serverErrors.add(message);
        } finally {
          await server.stop();
        }
      }
      const theirs = figure(baseline.variant, results);
      const why = serverErrors.size ? `; 500s: ${[...serverErrors].slice(0, 2).join(' | ')}` : '';
      baselineFigures.push(why ? { ...theirs, note: `${theirs.note ?? ''}${why}` } : theirs);
      measuredBaselines.push({ label: baseline.label, median: theirs.median });
    }
    const withRatios = oursFigures.map((ours) => ({
      ...ours,
      ...(measuredBaselines.length ? { ratio: measuredBaselines.map(({ label, median }) => ratio(ours.median, median, label)).join('; ') } : {}),
      target: target(ours, measuredBaselines),
    }));
    return [...withRatios, ...baselineFigures];
  },
};
