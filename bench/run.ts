// The benchmark harness: `npm run bench` (full size) or `npm run bench -- --smoke` (CI). Each figure
// is the median of several runs with min and max; memory is a process's peak resident size. Results
// go to stdout as a table and to .bench/results/ as JSON with the machine's cores, Node and commit.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDataset } from './dataset';
import { type GrowthRow, growthRows, growthSizes } from './growth';
import { type Figure, root, type Scenario } from './harness';
import { baselinesScenario } from './scenarios/baselines';
import { commandsScenario } from './scenarios/commands';
import { queriesScenario } from './scenarios/queries';
import { rebuildScenario } from './scenarios/rebuild';
import { appendScenario, storeReadScenario } from './scenarios/append';
import { relayScenario } from './scenarios/relay';
import { metWord, type Verdict, verdicts } from './targets';

/** The smallest data set the generator makes. */
const minimumEvents = 1_000;
/** The size issue #5's targets name, and the full run's default. */
const targetEvents = 1_000_000;

// The scenarios, in the order they run and print. Add a scenario here and nowhere else.
const scenarios: readonly Scenario[] = [rebuildScenario, commandsScenario, baselinesScenario, relayScenario, appendScenario, storeReadScenario, queriesScenario];

function table(figures: readonly Figure[]): string {
  const rows = figures.map((figure) => [
    figure.scenario,
    figure.variant,
    Number.isNaN(figure.median) ? '-' : Math.round(figure.median).toLocaleString('en-US'),
    Number.isNaN(figure.min) ? '-' : `${Math.round(figure.min).toLocaleString('en-US')}–${Math.round(figure.max).toLocaleString('en-US')}`,
    figure.unit,
    milliseconds(figure.p50Ms),
    milliseconds(figure.p99Ms),
    figure.peakRssMb === undefined ? '' : `${Math.round(figure.peakRssMb)} MB`,
    figure.ratio ?? '',
    figure.note ?? '',
  ]);
  return renderTable(['scenario', 'variant', 'median', 'min–max', 'unit', 'p50 ms', 'p99 ms', 'peak RSS', 'vs baseline', 'note'], rows);
}

/** A latency, '-' when none was measured (NaN, which JSON from a worker turns into null), '' when it does not apply. */
function milliseconds(value: number | null | undefined): string {
  if (value === undefined) return '';
  return value === null || Number.isNaN(value) ? '-' : value.toFixed(1);
}

function renderTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('-|-'), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      growth: { type: 'boolean', default: false },
      events: { type: 'string' },
      runs: { type: 'string' },
      only: { type: 'string' },
    },
  });
  const events = Number(values.events ?? (values.smoke ? 10_000 : targetEvents));
  const runs = Number(values.runs ?? (values.smoke ? 1 : 3));
  if (!Number.isSafeInteger(events) || events < minimumEvents || !Number.isSafeInteger(runs) || runs < 1) {
    throw new Error(`--events must be a whole number of at least ${minimumEvents}, --runs at least 1`);
  }
  const growth = values.growth ?? false;
  const only = values.only?.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = only?.filter((name) => !scenarios.some((scenario) => scenario.name === name)) ?? [];
  if (unknown.length) throw new Error(`--only: unknown scenario ${unknown.join(', ')}; there are ${scenarios.map((scenario) => scenario.name).join(', ')}`);
  // Growing, only the scenarios whose work depends on the data set run, at each size.
  const chosen = scenarios.filter((candidate) => (!only || only.includes(candidate.name)) && (!growth || candidate.growth !== undefined));
  const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim(),
    when: new Date().toISOString(),
  };
  const sized: Array<{ readonly events: number; readonly byScenario: ReadonlyMap<string, Figure[]>; readonly checked: readonly Verdict[] }> = [];
  for (const size of growth ? growthSizes(events, minimumEvents) : [events]) {
    const eventsFile = join(root, '.bench', 'data', `events-${size}.sqlite`);
    console.error(`Data set: about ${size} events (${eventsFile})`);
    const dataset = await ensureDataset(eventsFile, size, (line) => console.error(line));
    const context = { events: size, runs, smoke: values.smoke ?? false, growth, eventsFile, redisUrl, log: (line: string) => console.error(line) };
    const byScenario = new Map<string, Figure[]>();
    for (const scenario of chosen) {
      console.error(`Scenario ${scenario.name}`);
      byScenario.set(scenario.name, await scenario.run(context));
    }
    console.log(`\n${dataset.events.toLocaleString('en-US')} events; ${runs} run(s) each; ${machine.cores} cores, Node ${machine.node}, commit ${machine.commit}\n`);
    const figures = [...byScenario.values()].flat();
    console.log(table(figures));
    const checked = verdicts(figures);
    const caveat = size === targetEvents ? '' : `. Measured on ${dataset.events.toLocaleString('en-US')} events, not the 1M the targets name: indicative only`;
    console.log(`\nTargets (issue #5; docs/performance.md): ${summary(checked)}${caveat}\n`);
    console.log(verdictTable(checked));
    sized.push({ events: dataset.events, byScenario, checked });
  }
  const growthFigures = growth
    ? chosen.flatMap((scenario) => growthRows(scenario.growth!, sized.map(({ events: size, byScenario }) => ({ events: size, figures: byScenario.get(scenario.name) ?? [] }))))
    : [];
  if (growth) {
    console.log(`\nGrowth from ${sized.map(({ events: size }) => size.toLocaleString('en-US')).join(' to ')} events\n`);
    console.log(growthTable(sized.map(({ events: size }) => size), growthFigures));
  }
  const out = join(root, '.bench', 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `bench-${machine.when.replace(/[:.]/g, '-')}.json`);
  const results = sized.map(({ events: size, byScenario, checked }) => ({ dataset: { events: size, runs }, figures: [...byScenario.values()].flat(), verdicts: checked }));
  const json = growth ? { machine, runs: results, growth: growthFigures } : { machine, ...results[0] };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`\nResults: ${file}`);
}

function summary(checked: readonly Verdict[]): string {
  const count = (met: boolean | null) => checked.filter((verdict) => verdict.met === met).length;
  return `${count(true)} met, ${count(false)} missed, ${count(null)} not measured`;
}

function verdictTable(checked: readonly Verdict[]): string {
  return renderTable(
    ['scenario', 'variant', 'target', 'met?', 'measured'],
    checked.map((verdict) => [verdict.scenario, verdict.variant, verdict.goal, metWord(verdict.met), verdict.measured]),
  );
}

function growthTable(sizes: readonly number[], rows: readonly GrowthRow[]): string {
  const header = ['scenario', 'variant', 'measure', ...sizes.map((size) => `${size.toLocaleString('en-US')} events`), 'growth'];
  const cells = rows.map((row) => [row.scenario, row.variant, row.measure, ...row.values.map((value) => (value === undefined ? '-' : Number(value.toPrecision(3)).toLocaleString('en-US'))), row.verdict]);
  return renderTable(header, cells);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
