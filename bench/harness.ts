// What every benchmark scenario shares: the figure it reports, medians over runs, worker processes
// (so a run's peak resident memory is its own) and the context the harness hands each scenario.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Growth } from './growth';
import type { Target } from './targets';

export const root = resolve(__dirname, '..');

export interface Figure {
  readonly scenario: string;
  readonly variant: string;
  readonly unit: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly peakRssMb?: number;
  /** Latency percentiles in milliseconds, where a request is involved. */
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** Our figure divided by the baseline's, with the baseline named: "5.2x Emmett-PostgreSQL". */
  readonly ratio?: string;
  readonly note?: string;
  /** What issue #5 asks of this figure, checked under the table (targets.ts). */
  readonly target?: Target;
}

export interface ScenarioContext {
  /** Events in the generated data set (the --events size). */
  readonly events: number;
  /** Runs per figure; each figure is the median of these. */
  readonly runs: number;
  readonly smoke: boolean;
  /** A --growth run: every scenario measures the data set of `events`, whatever its own default size. */
  readonly growth: boolean;
  /** The generated data set: an embedded event store file, read-only for scenarios. */
  readonly eventsFile: string;
  readonly redisUrl: string;
  /** Say what is happening on stderr; stdout carries only the results. */
  readonly log: (line: string) => void;
}

export interface Scenario {
  /** Short name for `--only`. */
  readonly name: string;
  /** How its figures should grow with the data set (--growth); none when its work does not depend on it. */
  readonly growth?: Growth;
  run(context: ScenarioContext): Promise<Figure[]>;
}

export function summarize(values: readonly number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

/** A figure for a scenario that could not run here, with the reason in the table. */
export function notRun(scenario: string, variant: string, unit: string, reason: string, target?: Target): Figure {
  return { scenario, variant, unit, median: NaN, min: NaN, max: NaN, note: `not run: ${reason}`, ...(target ? { target } : {}) };
}

/** Runs a TypeScript worker under bench/ in its own process and returns what it printed on stdout. */
export function runWorker(script: string, args: readonly string[]): Promise<string> {
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

export async function redisAnswers(url: string): Promise<boolean> {
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
