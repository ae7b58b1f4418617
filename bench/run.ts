// The benchmark harness: `npm run bench` (full size) or `npm run bench -- --smoke` (CI). Each figure
// is the median of several runs with min and max; memory is a process's peak resident size. Results
// go to stdout as a table and to .bench/results/ as JSON with the machine's cores, Node and commit.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDataset } from './dataset';

const root = resolve(__dirname, '..');

interface Figure {
  readonly scenario: string;
  readonly variant: string;
  readonly unit: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly peakRssMb?: number;
  readonly note?: string;
}

function summarize(values: readonly number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

function runWorker(script: string, args: readonly string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--require', join(root, 'scripts/register-ts.js'), join(__dirname, script), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done(out) : fail(new Error(`${script} exited with ${code}`))));
  });
}

async function redisAnswers(url: string): Promise<boolean> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function rebuildScenario(eventsFile: string, runs: number, redisUrl: string): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const store of ['embedded', 'redis'] as const) {
    if (store === 'redis' && !(await redisAnswers(redisUrl))) {
      figures.push({ scenario: 'rebuild all projections', variant: store, unit: 'events/s', median: NaN, min: NaN, max: NaN, note: `not run: no Redis at ${redisUrl}` });
      continue;
    }
    const totals: number[] = [];
    const perProjection = new Map<string, number[]>();
    const rss: number[] = [];
    for (let run = 0; run < runs; run++) {
      const output = JSON.parse(await runWorker('scenarios/rebuild-worker.ts', [eventsFile, store, redisUrl])) as {
        results: Array<{ projection: string; events: number; seconds: number }>;
        peakRssBytes: number;
      };
      const events = output.results.reduce((sum, result) => sum + result.events, 0);
      const seconds = output.results.reduce((sum, result) => sum + result.seconds, 0);
      totals.push(events / seconds);
      for (const result of output.results) perProjection.set(result.projection, [...(perProjection.get(result.projection) ?? []), result.events / result.seconds]);
      rss.push(output.peakRssBytes / 1024 / 1024);
    }
    figures.push({ scenario: 'rebuild all projections', variant: store, unit: 'events/s', ...summarize(totals), peakRssMb: Math.max(...rss) });
    for (const [projection, rates] of perProjection) {
      figures.push({ scenario: `  rebuild ${projection}`, variant: store, unit: 'events/s', ...summarize(rates) });
    }
  }
  return figures;
}

function table(figures: readonly Figure[]): string {
  const rows = figures.map((figure) => [
    figure.scenario,
    figure.variant,
    Number.isNaN(figure.median) ? '-' : Math.round(figure.median).toLocaleString('en-US'),
    Number.isNaN(figure.min) ? '-' : `${Math.round(figure.min).toLocaleString('en-US')}–${Math.round(figure.max).toLocaleString('en-US')}`,
    figure.unit,
    figure.peakRssMb === undefined ? '' : `${Math.round(figure.peakRssMb)} MB`,
    figure.note ?? '',
  ]);
  const header = ['scenario', 'variant', 'median', 'min–max', 'unit', 'peak RSS', 'note'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('-|-'), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      events: { type: 'string' },
      runs: { type: 'string' },
    },
  });
  const events = Number(values.events ?? (values.smoke ? 10_000 : 1_000_000));
  const runs = Number(values.runs ?? (values.smoke ? 1 : 3));
  if (!Number.isSafeInteger(events) || events < 1_000 || !Number.isSafeInteger(runs) || runs < 1) {
    throw new Error('--events must be a whole number of at least 1000, --runs at least 1');
  }
  const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const eventsFile = join(root, '.bench', 'data', `events-${events}.sqlite`);
  console.error(`Data set: about ${events} events (${eventsFile})`);
  const dataset = await ensureDataset(eventsFile, events, (line) => console.error(line));
  const figures = await rebuildScenario(eventsFile, runs, redisUrl);
  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim(),
    when: new Date().toISOString(),
  };
  console.log(`\n${dataset.events.toLocaleString('en-US')} events; ${runs} run(s) each; ${machine.cores} cores, Node ${machine.node}, commit ${machine.commit}\n`);
  console.log(table(figures));
  const out = join(root, '.bench', 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `bench-${machine.when.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ machine, dataset: { events: dataset.events, runs }, figures }, null, 2)}\n`);
  console.log(`\nResults: ${file}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
