// The embedded event store on its own: appends (64 concurrent writers and one sequential writer, one
// event per append) and a full read, each beside raw better-sqlite3 doing the same I/O in the same run.
import type { Figure, Scenario, ScenarioContext } from '../harness';
import { runWorker, summarize } from '../harness';
import { atLeast } from '../targets';
import type { AppendWorkerResult } from './append-worker';

async function measure(context: ScenarioContext, mode: string, count: number): Promise<AppendWorkerResult[]> {
  const results: AppendWorkerResult[] = [];
  for (let run = 0; run < context.runs; run++) {
    results.push(JSON.parse(await runWorker('scenarios/append-worker.ts', [context.eventsFile, mode, String(count)])) as AppendWorkerResult);
  }
  return results;
}

function figure(scenario: string, variant: string, results: readonly AppendWorkerResult[], extra: Partial<Figure> = {}): Figure {
  const median = (pick: (result: AppendWorkerResult) => number | undefined) => {
    const values = results.map(pick).filter((value): value is number => value !== undefined);
    return values.length ? summarize(values).median : undefined;
  };
  return {
    scenario,
    variant,
    unit: 'events/s',
    ...summarize(results.map((result) => result.eventsPerSecond)),
    p50Ms: median((result) => result.p50Ms),
    p99Ms: median((result) => result.p99Ms),
    peakRssMb: Math.max(...results.map((result) => result.peakRssBytes)) / 1024 / 1024,
    ...extra,
  };
}

const times = (ours: Figure, theirs: Figure, name: string) => `${(ours.median / theirs.median).toFixed(2)}x ${name}`;

export const appendScenario: Scenario = {
  name: 'append',
  growth: 'time',
  async run(context): Promise<Figure[]> {
    const concurrentEvents = context.smoke ? 10_000 : context.events;
    const sequentialEvents = context.smoke ? 1_000 : 20_000;
    const rawSingle = context.smoke ? 1_000 : 20_000;
    // Emmett-SQLite manages a few hundred appends/s: a few thousand events say enough.
    const emmettEvents = context.smoke ? 200 : 3_000;
    context.log('  raw better-sqlite3 appends');
    const rawOne = figure('raw SQLite append', '1 event/transaction', await measure(context, 'raw-single', rawSingle), {
      note: `no baseline: the limit; ${rawSingle.toLocaleString('en-US')} transactions`,
    });
    const rawMany = figure('raw SQLite append', '64 events/transaction', await measure(context, 'raw-batch', concurrentEvents), {
      note: 'no baseline: the limit',
    });
    context.log('  store appends, 64 writers');
    const concurrent = figure('store append', '64 writers, 1 event/append', await measure(context, 'concurrent', concurrentEvents));
    context.log('  store appends, one writer');
    const sequential = figure('store append', '1 writer, 1 event/append', await measure(context, 'sequential', sequentialEvents));
    context.log('  Emmett-SQLite appends, one writer');
    const emmett = figure('Emmett-SQLite append', '1 writer, 1 event/append', await measure(context, 'emmett', emmettEvents), {
      note: `baseline; ${emmettEvents.toLocaleString('en-US')} events`,
    });
    return [
      {
        ...concurrent,
        ratio: times(concurrent, rawMany, 'raw 64/tx'),
        note: `${concurrentEvents.toLocaleString('en-US')} events; no Emmett row: Emmett-SQLite fails with 4 writers`,
        target: { goal: '≥ 100k events/s from 64 writers, 1M events', bounds: [atLeast('rate', 'events/s', concurrent.median, 100_000)] },
      },
      {
        ...sequential,
        ratio: `${times(sequential, emmett, 'Emmett-SQLite')}; ${times(sequential, rawOne, 'raw 1/tx')}`,
        note: `${sequentialEvents.toLocaleString('en-US')} events`,
        target: {
          goal: '≥ ½ the raw single-event transactions and ≥ 10x Emmett-SQLite',
          bounds: [atLeast('vs raw 1/tx', 'x', sequential.median / rawOne.median, 0.5), atLeast('vs Emmett-SQLite', 'x', sequential.median / emmett.median, 10)],
        },
      },
      emmett,
      rawOne,
      rawMany,
    ];
  },
};

export const storeReadScenario: Scenario = {
  name: 'store-read',
  growth: 'time',
  async run(context): Promise<Figure[]> {
    context.log('  raw read and JSON.parse');
    const raw = figure('raw SQLite read+parse', 'whole data set', await measure(context, 'raw-read', 1), { note: 'no baseline: the limit' });
    context.log('  subscribeToAll from the start');
    const ours = figure('store read', 'subscribeToAll from start', await measure(context, 'read', 1));
    return [{ ...ours, ratio: times(ours, raw, 'raw read'), note: 'events materialised as RecordedEvent' }, raw];
  },
};
