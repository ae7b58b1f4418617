// Analytics and pipeline queries over HTTP: the real API (queries-worker.ts, its own process) on read
// models rebuilt from a data set of about 100k deals (500k events; BENCH_QUERIES_EVENTS picks another
// size, e.g. 10000 or 1000000 for the growth rows), driven from this process by 8 keep-alive clients
// sending a realistic mix of the questions analysts and sales ask. BENCH_QUERIES_DATA_DIR serves a
// directory prepared before (events.sqlite and read-models.sqlite at the head) instead of rebuilding. One figure per kind of question
// with its p50 and p99 latency; no baseline counterpart (Emmett has no read side to compare with).
// Questions the pre-aggregates do not answer (a period that starts long ago, grouped by owner or source) are corrected
// from a scan kept for their kind, or else added up from the timelines the API's first such question (timed once,
// first) read and kept resident (docs/analytics.md, "A scan kept, corrected deal by deal", "Timelines kept resident"): they are
// timed apart, one client alone, so that their seconds do not stand in front of the mix's
// milliseconds; so are two questions of the mix, for their latency without queueing, and two recent
// windows. The API remembers analytics answers until its projections commit again (AnalyticsMemo), so
// the mix is run a last time while deal commands are written, for what it costs when the answers keep
// changing, overall and question by question.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { dayMs, percentile } from '@deals/projections';
import { ensureDataset } from '../dataset';
import { type Figure, root, type Scenario, summarize } from '../harness';
import { p99AtMost } from '../targets';
import { runLoad } from '../load/generator';
import { HttpConnection } from '../load/http-connection';

const clients = 8;
const fullSizeEvents = 500_000;
const analystKey = 'test-analyst-key-00000001';
const salesKey = 'test-sales-key-0000000001';
/** Deal commands per second written beside the mix in its last run: a busy sales floor's projections committing all the time. */
const writeRate = 100;

interface Kind {
  readonly name: string;
  /** A function of the request's number asks a different question each time, so none is remembered. */
  readonly path: string | ((request: number) => string);
  /** Share of the mix (relative). */
  readonly weight: number;
  /** What the table's note says of the row beside "no baseline counterpart". */
  readonly note?: string;
}

/** The mix: what a dashboard and a sales team ask all day. The data set's clock stops at 2026-06-30. */
function mix(nextPage: string | null): Kind[] {
  return [
    { name: 'pipeline', path: '/pipeline', weight: 15 },
    { name: 'pipeline ?owner', path: '/pipeline?owner=owner-07', weight: 10 },
    { name: 'pipeline ?source&rotting', path: '/pipeline?source=referral&rotting=true', weight: 5 },
    { name: 'pipeline ?stage, next page', path: nextPage ?? '/pipeline?stage=negotiation&limit=50', weight: 10 },
    { name: 'pipeline ?owner&source', path: '/pipeline?owner=owner-03&source=web', weight: 5 },
    { name: 'cycle-length', path: '/analytics/cycle-length', weight: 20 },
    { name: 'cycle-length ?groupBy=owner', path: '/analytics/cycle-length?groupBy=owner', weight: 10 },
    { name: 'cycle-length ?groupBy=month', path: '/analytics/cycle-length?groupBy=month', weight: 5 },
    { name: 'cycle-length cohort Q1', path: '/analytics/cycle-length?from=2026-01-01&to=2026-04-01', weight: 10 },
    { name: 'cycle-length ?asOf=yesterday', path: '/analytics/cycle-length?asOf=2026-06-29', weight: 10 },
    // The year to date by owner: no aggregate answers it (too many deals changed since its start), so
    // the API scans it at the settled instant before now once and corrects that for each commit.
    { name: 'cycle-length period year to date ?groupBy=owner', path: '/analytics/cycle-length?basis=period&from=2026-01-01&groupBy=owner', weight: 5 },
  ];
}

/** An instant `request` milliseconds after the given day's start: a question of its own for each request. */
const distinctInstant = (day: string, request: number): string => new Date(Date.parse(day) + request).toISOString();

// The notes of the rows timed apart.
const ownQuestion = 'each a question of its own';
const residentNote = `${ownQuestion}, added up from the timelines kept resident since the first scan (docs/analytics.md)`;
const settledNote = 'remembered until an event arrives late (docs/analytics.md)';
const keptScanNote = (corrected: string) => `${ownQuestion}, the scan kept for its kind (basis and grouping) corrected for ${corrected} (docs/analytics.md)`;

/** Days from the start, one more or one fewer than the request before: 0, 1, … 26, 27, 26, … 1, 0, 1, … */
const dayStep = (request: number): number => {
  const step = request % 54;
  return (step < 27 ? step : 54 - step) * dayMs;
};

/**
 * Timed apart, one client at a time: the questions about the past, the scan's among them (their
 * seconds would queue in front of the mix), and two of the mix's alone, to show a request's own
 * latency without queueing. Questions about the past are timed twice: each request a question of its
 * own (its horizon a millisecond later), as a first ask is; and the same question again, which the
 * API remembers while no event arrives late.
 */
const alone: readonly Kind[] = [
  { name: 'cycle-length', path: '/analytics/cycle-length', weight: 1 },
  { name: 'cycle-length ?groupBy=owner', path: '/analytics/cycle-length?groupBy=owner', weight: 1 },
  // Windows that start recently, grouped by owner: the timelines of the deals changed since their start,
  // each request a question of its own (its start a millisecond later); the API remembers an answer
  // about now until the next commit, as the row asked again shows.
  {
    name: 'cycle-length cohort since 03-15 ?groupBy=owner',
    path: (request) => `/analytics/cycle-length?from=${distinctInstant('2026-03-15', request)}&groupBy=owner`,
    weight: 1,
    note: ownQuestion,
  },
  {
    name: 'cycle-length period since 03-15 ?groupBy=owner',
    path: (request) => `/analytics/cycle-length?basis=period&from=${distinctInstant('2026-03-15', request)}&groupBy=owner`,
    weight: 1,
    note: ownQuestion,
  },
  {
    name: 'cycle-length period since 03-15 ?groupBy=owner, asked again',
    path: '/analytics/cycle-length?basis=period&from=2026-03-15&groupBy=owner',
    weight: 1,
    note: 'remembered until the next commit (docs/analytics.md)',
  },
  {
    // With no start, a period counts what the cohort of every deal counts as of its end.
    name: 'cycle-length period until 04-01',
    path: (request) => `/analytics/cycle-length?basis=period&to=${distinctInstant('2026-04-01', request)}`,
    weight: 1,
    note: `${ownQuestion}, the cohort as of its end (docs/analytics.md)`,
  },
  {
    name: 'cycle-length ?asOf=a year back',
    path: (request) => `/analytics/cycle-length?asOf=${distinctInstant('2025-06-30', request)}`,
    weight: 1,
    note: `${ownQuestion}, the change months up to its month's nearer end, corrected for the deals that moved in between (docs/analytics.md)`,
  },
  {
    // A quarter's first instant: the change months before it, corrected for the deals that moved since its start (none at 00:00).
    name: 'cycle-length ?asOf=a quarter start',
    path: (request) => `/analytics/cycle-length?asOf=${distinctInstant('2025-04-01', request)}`,
    weight: 1,
    note: `${ownQuestion}, early in its month (docs/analytics.md)`,
  },
  {
    // A period that starts long ago, from a month start: the event months' totals, corrected for the
    // deals in flight at its end. Its end moves a millisecond earlier each time, so that the horizon
    // stays in March, as the quarter's own (to=2025-04-01) is.
    name: 'cycle-length period Q1 2025',
    path: (request) => `/analytics/cycle-length?basis=period&from=2025-01-01&to=${distinctInstant('2025-04-01', -request)}`,
    weight: 1,
    note: `${ownQuestion}, corrects the deals in flight at its end (docs/analytics.md)`,
  },
  {
    // A quarter by source, its start two months or more from every one asked before (the month steps
    // by 11 through 24): no aggregate answers it, and too many deals moved in between for a kept scan
    // of its kind to be corrected at the full size, so each adds up the resident timelines of the deals
    // it can count (firstScan, asked before the mix, left them resident).
    name: 'cycle-length period, a quarter ?groupBy=source, months from any asked before',
    path: (request) => {
      // From April 2024, the data set's first full month, to March 2026.
      const month = 3 + ((request * 11) % 24);
      return `/analytics/cycle-length?basis=period&from=${new Date(Date.UTC(2024, month, 1) + request).toISOString()}&to=${new Date(Date.UTC(2024, month + 3, 1)).toISOString()}&groupBy=source`;
    },
    weight: 1,
    note: residentNote,
  },
  {
    // Q1 2025 grouped by owner, with more deals changed since than the recent deals' limit. Its start
    // moves a millisecond each time: after the first ask (the warm-up's), corrected from the scan kept for its kind.
    name: 'cycle-length period Q1 2025 ?groupBy=owner, its start moved',
    path: (request) => `/analytics/cycle-length?basis=period&from=${distinctInstant('2025-01-01', request)}&to=2025-04-01&groupBy=owner`,
    weight: 1,
    note: keptScanNote('the deals with an event between the two starts: none, mostly'),
  },
  {
    // Its end moved instead: after the first ask (the warm-up's), corrected from the scan kept for its kind.
    name: 'cycle-length period Q1 2025 ?groupBy=owner, its end moved',
    path: (request) => `/analytics/cycle-length?basis=period&from=2025-01-01&to=${distinctInstant('2025-04-01', -request)}&groupBy=owner`,
    weight: 1,
    note: keptScanNote('the deals with an event in that millisecond: none, mostly'),
  },
  {
    // An analyst stepping its end through March a day at a time, back and forth.
    name: 'cycle-length period Q1 2025 ?groupBy=owner, its end a day on',
    path: (request) => `/analytics/cycle-length?basis=period&from=2025-01-01&to=${distinctInstant('2025-03-02', dayStep(request) - request)}&groupBy=owner`,
    weight: 1,
    note: keptScanNote('the deals with an event in that day: about 570, listed by the day indexes'),
  },
  { name: 'cycle-length ?asOf=a year back, asked again', path: '/analytics/cycle-length?asOf=2025-06-30', weight: 1, note: settledNote },
  { name: 'cycle-length period Q1 2025, asked again', path: '/analytics/cycle-length?basis=period&from=2025-01-01&to=2025-04-01', weight: 1, note: settledNote },
];

interface Served {
  readonly url: URL;
  readonly deals: number;
  readonly buildSeconds: number;
  stop(): Promise<void>;
}

function serve(eventsFile: string): Promise<Served> {
  const prepared = process.env['BENCH_QUERIES_DATA_DIR'];
  const args = [join(__dirname, 'queries-worker.ts'), eventsFile, ...(prepared ? [prepared] : [])];
  // BENCH_QUERIES_CPU_PROF=<dir>: a CPU profile of the API, written there when it stops.
  const profile = process.env['BENCH_QUERIES_CPU_PROF'];
  const flags = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...flags, '--require', join(root, 'scripts/register-ts.js'), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const stop = () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null) return done();
      child.once('exit', () => done());
      child.stdin!.end();
    });
  return new Promise((done, fail) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        const { url, deals, buildSeconds } = JSON.parse(line) as { url: string; deals: number; buildSeconds: number };
        done({ url: new URL(url.replace('[::1]', '127.0.0.1')), deals, buildSeconds, stop });
      }
    });
    child.once('exit', (code) => fail(new Error(`queries-worker exited with ${code} before serving`)));
  });
}

interface KindResult {
  readonly latencies: number[];
  errors: number;
}

/**
 * Numbers the requests whose path is a function of it, across every drive of one API: a run that
 * started again from 0 would ask the questions the run before asked, which the API remembers.
 */
let requestNumber = 0;

/** `clients` connections, each sending questions of the mix in a seeded weighted order for `seconds`. */
async function drive(url: URL, kinds: readonly Kind[], clientCount: number, seconds: number, warmupSeconds: number): Promise<{ results: Map<string, KindResult>; seconds: number }> {
  const results = new Map(kinds.map((kind) => [kind.name, { latencies: [] as number[], errors: 0 }]));
  const total = kinds.reduce((sum, kind) => sum + kind.weight, 0);
  let measuring = false;
  let stopping = false;
  let lastTimedEnd = 0;
  async function client(seed: number): Promise<void> {
    const connection = new HttpConnection(url.hostname, Number(url.port));
    let state = seed;
    // A request sent in the window is timed to its answer, however late. A client whose only request
    // of the window began before it (a question slower than the window) asks once more, timed, so a
    // question slower than the window is measured, not left without a latency.
    let timedOne = false;
    while (!stopping || !timedOne) {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      let pick = (state / 2_147_483_648) * total;
      const kind = kinds.find((candidate) => (pick -= candidate.weight) < 0) ?? kinds.at(-1)!;
      const timed = measuring || stopping;
      const started = performance.now();
      const path = typeof kind.path === 'string' ? kind.path : kind.path(requestNumber++);
      const answer = await connection.request('GET', path, { authorization: `Bearer ${analystKey}` }, '');
      if (!timed) continue;
      const ended = performance.now();
      timedOne = true;
      lastTimedEnd = Math.max(lastTimedEnd, ended);
      const result = results.get(kind.name)!;
      result.latencies.push(ended - started);
      if (answer.status !== 200) result.errors++;
    }
    connection.close();
  }
  const running = Array.from({ length: clientCount }, (_, index) => client(index + 1));
  await new Promise((wake) => setTimeout(wake, warmupSeconds * 1000));
  measuring = true;
  const started = performance.now();
  await new Promise((wake) => setTimeout(wake, seconds * 1000));
  measuring = false;
  stopping = true;
  await Promise.all(running);
  // Rates over the window, or up to the last timed answer where that came later.
  return { results, seconds: (Math.max(lastTimedEnd, started + seconds * 1000) - started) / 1000 };
}

/**
 * A question only a scan answers, asked first in a fresh API: it reads and parses every timeline,
 * which then stay resident for every later such question. One ask per API process, so one sample.
 */
const firstScan = {
  name: 'cycle-length period, a quarter ?groupBy=source, first in the API (a scan)',
  path: '/analytics/cycle-length?basis=period&from=2024-05-01&to=2024-08-01&groupBy=source',
  note: 'once per API process: a scan of every deal, whose timelines then stay resident (docs/analytics.md)',
};

/** One question on a connection of its own, as the analyst, with its latency. */
async function askedOnce(url: URL, path: string): Promise<{ readonly status: number; readonly body: string; readonly ms: number }> {
  const connection = new HttpConnection(url.hostname, Number(url.port));
  try {
    const started = performance.now();
    const { status, body } = await connection.request('GET', path, { authorization: `Bearer ${analystKey}` }, '');
    return { status, body, ms: performance.now() - started };
  } finally {
    connection.close();
  }
}

async function timedOnce(url: URL, path: string): Promise<Sample> {
  const { status, ms } = await askedOnce(url, path);
  return sample([ms], ms / 1000, status === 200 ? 0 : 1);
}

/** The next page's path of a deal list, so that the mix pages with a cursor the service issued. */
async function secondPage(url: URL): Promise<string | null> {
  const path = '/pipeline?stage=negotiation&limit=50';
  const cursor = (JSON.parse((await askedOnce(url, path)).body) as { deals?: { nextCursor?: string | null } }).deals?.nextCursor;
  return cursor ? `${path}&cursor=${encodeURIComponent(cursor)}` : null;
}

interface Sample {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

function sample(latencies: readonly number[], seconds: number, errors: number): Sample {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    requestsPerSecond: sorted.length / seconds,
    p50Ms: sorted.length ? percentile(sorted, 0.5) : NaN,
    p99Ms: sorted.length ? percentile(sorted, 0.99) : NaN,
    errors,
  };
}

function figure(scenario: string, variant: string, samples: readonly Sample[], note: string): Figure {
  const errors = samples.reduce((sum, one) => sum + one.errors, 0);
  const p99Ms = summarize(samples.map((one) => one.p99Ms)).median;
  return {
    scenario,
    variant,
    unit: 'requests/s',
    ...summarize(samples.map((one) => one.requestsPerSecond)),
    p50Ms: summarize(samples.map((one) => one.p50Ms)).median,
    p99Ms,
    note: errors ? `${note}; ${errors} non-200 answers` : note,
    // Issue #5 asks it of every cycle-length and pipeline question on 100k deals.
    target: { goal: 'p99 ≤ 20 ms on 100k deals', bounds: [p99AtMost(p99Ms, 20)] },
  };
}

export const queriesScenario: Scenario = {
  name: 'queries',
  growth: 'latency',
  async run({ runs, smoke, growth, eventsFile, events, log }): Promise<Figure[]> {
    const size = smoke || growth ? events : Number(process.env['BENCH_QUERIES_EVENTS'] ?? fullSizeEvents);
    if (!Number.isSafeInteger(size) || size < 1_000) throw new Error('BENCH_QUERIES_EVENTS must be a whole number of at least 1000');
    const file = size === events ? eventsFile : join(root, '.bench', 'data', `events-${size}.sqlite`);
    await ensureDataset(file, size, log);
    const seconds = smoke ? 2 : 15;
    const warmup = smoke ? 1 : 3;
    log(`  building the read models of ${file} and starting the API`);
    const api = await serve(file);
    try {
      log(`  ${api.deals} deals, read models built in ${api.buildSeconds.toFixed(0)} s; ${runs} run(s) of ${seconds} s, ${clients} clients`);
      // Before anything else asks a question only a scan answers (the mix does).
      const first = await timedOnce(api.url, firstScan.path);
      const kinds = mix(await secondPage(api.url));
      const perKind = new Map<string, Sample[]>(kinds.map((kind) => [kind.name, []]));
      const overall: Sample[] = [];
      for (let run = 0; run < runs; run++) {
        const { results, seconds: elapsed } = await drive(api.url, kinds, clients, seconds, warmup);
        for (const [name, result] of results) perKind.get(name)!.push(sample(result.latencies, elapsed, result.errors));
        const all = [...results.values()];
        overall.push(sample(all.flatMap((result) => result.latencies), elapsed, all.reduce((sum, result) => sum + result.errors, 0)));
      }
      const scenario = `queries on ${api.deals.toLocaleString('en-US')} deals`;
      const note = 'no baseline counterpart';
      const figures = [figure(scenario, `mix, ${clients} clients`, overall, note)];
      for (const kind of kinds) figures.push(figure(`  ${kind.name}`, `in the mix`, perKind.get(kind.name)!, note));
      figures.push(figure(`  ${firstScan.name}`, '1 client, once', [first], `${note}; ${firstScan.note}`));
      for (const kind of alone) {
        const samples: Sample[] = [];
        for (let run = 0; run < runs; run++) {
          const { results, seconds: elapsed } = await drive(api.url, [kind], 1, smoke ? 1 : 5, smoke ? 0 : 1);
          const result = results.get(kind.name)!;
          samples.push(sample(result.latencies, elapsed, result.errors));
        }
        figures.push(figure(`  ${kind.name}`, '1 client, alone', samples, kind.note ? `${note}; ${kind.note}` : note));
      }
      // Once, last: the writes change the read models (and the deals changed after the mix's asOf).
      const [written, load] = await Promise.all([
        drive(api.url, kinds, clients, seconds, warmup),
        runLoad({ url: api.url.origin, key: salesKey, clients: 16, seconds, warmupSeconds: warmup, ratePerSecond: writeRate }),
      ]);
      const writing = [...written.results.values()];
      const whileWriting = `mix, ${clients} clients, ${writeRate} commands/s written`;
      figures.push(
        figure(
          scenario,
          whileWriting,
          [sample(writing.flatMap((result) => result.latencies), written.seconds, writing.reduce((sum, result) => sum + result.errors, 0))],
          `${note}; a commit makes the scopes it changed be read again; commands ${load.okPerSecond.toFixed(0)}/s answered, p99 ${load.p99Ms.toFixed(0)} ms`,
        ),
      );
      // Each question's own latency while the answers keep changing: which of them the writes slow.
      for (const [name, result] of written.results) figures.push(figure(`  ${name}`, whileWriting, [sample(result.latencies, written.seconds, result.errors)], note));
      return figures;
    } finally {
      await api.stop();
    }
  },
};
