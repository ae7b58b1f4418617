// The load generator: N keep-alive clients, each driving deals through their life over the HTTP contract
// as a careful client does (Bearer key, a fresh Idempotency-Key per command, If-Match with the ETag it
// last saw). Works against any base URL: our API, a baseline server, or a fixed-answer server (without a
// Location/dealId or ETag in the answer it makes up the id and sends no If-Match).
//
//   node --require ./scripts/register-ts.js bench/load/generator.ts --url http://127.0.0.1:3000 \
//     --key bench-load-key-0001 --clients 64 --seconds 10 --warmup 2 [--server-pid <pid>]
//
// Prints one JSON object on stdout (LoadResult); progress and problems go to stderr.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dealLife } from './deal-life';
import { HttpConnection } from './http-connection';

export interface LoadOptions {
  readonly url: string;
  readonly key: string;
  readonly clients: number;
  /** Measured time, after the warm-up. */
  readonly seconds: number;
  /** Requests during the warm-up are sent but neither timed nor counted. */
  readonly warmupSeconds: number;
  /** The server's process id, when it runs on this machine: its CPU time in the measured window is reported (Linux). */
  readonly serverPid?: number;
  /** Paces the clients together to at most this many commands per second; as fast as answered without it. */
  readonly ratePerSecond?: number;
}

export interface LoadResult {
  readonly url: string;
  readonly clients: number;
  readonly seconds: number;
  /** Requests answered in the measured time, whatever their status. */
  readonly requests: number;
  /** Answered 2xx in the measured time, per second: the commands/s figure. */
  readonly okPerSecond: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Non-2xx answers by status, and transport failures as "error: <message>". */
  readonly errors: Readonly<Record<string, number>>;
  readonly byRoute: Readonly<Record<string, number>>;
  readonly dealsStarted: number;
  /** CPU time (user + system) the server process spent in the measured window per answered request, when its pid was given. */
  readonly serverCpuUsPerRequest?: number;
}

/** A process's CPU time so far in microseconds, from /proc (utime + stime, in clock ticks of 10 ms). */
function processCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const base = new URL(options.url);
  const prefix = base.pathname.replace(/\/$/, '');
  const port = Number(base.port || 80);
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const byRoute: Record<string, number> = {};
  let measuring = false;
  let stopping = false;
  let ok = 0;
  let dealsStarted = 0;
  const count = (table: Record<string, number>, key: string) => (table[key] = (table[key] ?? 0) + 1);
  const interval = options.ratePerSecond === undefined ? 0 : 1000 / options.ratePerSecond;
  let nextSlot = performance.now();
  /** Waits for the next free send slot: one every `interval` ms, whichever client takes it. */
  const paced = async () => {
    if (interval === 0) return;
    const slot = Math.max(nextSlot, performance.now());
    nextSlot = slot + interval;
    await new Promise((wake) => setTimeout(wake, slot - performance.now()));
  };

  async function client(): Promise<void> {
    const connection = new HttpConnection(base.hostname, port);
    const authorization = `Bearer ${options.key}`;
    while (!stopping) {
      const steps = dealLife(dealsStarted++);
      let dealId = '';
      let version: string | undefined;
      for (const step of steps) {
        if (stopping) break;
        const headers: Record<string, string> = {
          authorization,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
        };
        if (version !== undefined) headers['if-match'] = version;
        const path = prefix + step.path.replace('{id}', dealId);
        await paced();
        const started = performance.now();
        const timed = measuring;
        try {
          const answer = await connection.request('POST', path, headers, step.body);
          const elapsed = performance.now() - started;
          if (timed && measuring) {
            latencies.push(elapsed);
            count(byRoute, step.route);
          }
          if (answer.status < 200 || answer.status > 299) {
            if (timed && measuring) count(errors, String(answer.status));
            break;
          }
          if (timed && measuring) ok++;
          version = answer.headers['etag'];
          if (step.route === 'capture') dealId = createdDealId(answer.headers['location'], answer.body);
        } catch (error) {
          if (timed && measuring) count(errors, `error: ${error instanceof Error ? error.message : String(error)}`);
          break;
        }
      }
    }
    connection.close();
  }

  const clients = Array.from({ length: options.clients }, () => client());
  await new Promise((wake) => setTimeout(wake, options.warmupSeconds * 1000));
  measuring = true;
  const started = performance.now();
  const serverCpuBefore = options.serverPid === undefined ? 0 : processCpuUs(options.serverPid);
  await new Promise((wake) => setTimeout(wake, options.seconds * 1000));
  measuring = false;
  const serverCpu = options.serverPid === undefined ? undefined : processCpuUs(options.serverPid) - serverCpuBefore;
  const seconds = (performance.now() - started) / 1000;
  stopping = true;
  await Promise.all(clients);
  const sorted = Float64Array.from(latencies).sort();
  return {
    url: options.url,
    clients: options.clients,
    seconds,
    requests: sorted.length,
    okPerSecond: ok / seconds,
    requestsPerSecond: sorted.length / seconds,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.length ? sorted[sorted.length - 1]! : NaN,
    errors,
    byRoute,
    dealsStarted,
    ...(serverCpu === undefined ? {} : { serverCpuUsPerRequest: serverCpu / Math.max(1, sorted.length) }),
  };
}

/** The new deal's id from Location or the body's dealId; a made-up one when the server names none. */
function createdDealId(location: string | undefined, body: string): string {
  const fromLocation = location?.split('/').pop();
  if (fromLocation) return fromLocation;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && 'dealId' in parsed && typeof parsed.dealId === 'string') return parsed.dealId;
  } catch {
    // A fixed-answer server need not answer JSON.
  }
  return randomUUID();
}

function positive(name: string, value: string | undefined, fallback: number): number {
  const number = Number(value ?? fallback);
  if (!Number.isFinite(number) || number < 0) throw new Error(`--${name} must be a number of at least 0`);
  return number;
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      key: { type: 'string', default: 'bench-load-key-0001' },
      clients: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      'server-pid': { type: 'string' },
    },
  });
  if (!values.url) throw new Error('--url is required: the base URL of the server under load');
  const options: LoadOptions = {
    url: values.url,
    key: values.key!,
    clients: Math.max(1, Math.round(positive('clients', values.clients, 64))),
    seconds: positive('seconds', values.seconds, 10),
    warmupSeconds: positive('warmup', values.warmup, 2),
    ...(values['server-pid'] === undefined ? {} : { serverPid: Math.round(positive('server-pid', values['server-pid'], 0)) }),
  };
  runLoad(options).then(
    (result) => console.log(JSON.stringify(result)),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
