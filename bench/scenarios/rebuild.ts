// Rebuild of every projection from the first event, on each read-model store, beside the limit: raw
// better-sqlite3 reading and JSON-parsing the same rows of the data set in the same run.
import { type Figure, notRun, redisAnswers, runWorker, type Scenario, summarize } from '../harness';
import { atLeast, peakRssAtMost, type Target } from '../targets';

/** Issue #5: at least 30% of the raw read embedded, 50k events/s on Redis, 512 MB at most either way. */
function target(store: 'embedded' | 'redis', rate: number, rawRate: number, peakRssMb: number | undefined): Target {
  const speed =
    store === 'embedded' ? atLeast('share of raw read', '%', (100 * rate) / rawRate, 30) : atLeast('rate', 'events/s', rate, 50_000);
  return {
    goal: `${store === 'embedded' ? '≥ 30% of the raw read+parse' : '≥ 50k events/s'} from 1M events, peak ≤ 512 MB`,
    bounds: [speed, peakRssAtMost(peakRssMb, 512)],
  };
}

export const rebuildScenario: Scenario = {
  name: 'rebuild',
  growth: 'time',
  async run({ eventsFile, runs, redisUrl }): Promise<Figure[]> {
    const figures: Figure[] = [];
    const rawRates: number[] = [];
    for (let run = 0; run < runs; run++) {
      rawRates.push((JSON.parse(await runWorker('scenarios/rebuild-worker.ts', [eventsFile, 'raw'])) as { eventsPerSecond: number }).eventsPerSecond);
    }
    const raw = summarize(rawRates);
    for (const store of ['embedded', 'redis'] as const) {
      if (store === 'redis' && !(await redisAnswers(redisUrl))) {
        figures.push(notRun('rebuild all projections', store, 'events/s', `no Redis at ${redisUrl}`, target(store, NaN, raw.median, undefined)));
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
        // A rebuild of all projections from N events takes the three rebuilds' time: N over it is its rate,
        // comparable with the raw read of the same N rows (each rebuild reads every event once).
        const events = Math.max(...output.results.map((result) => result.events));
        const seconds = output.results.reduce((sum, result) => sum + result.seconds, 0);
        totals.push(events / seconds);
        for (const result of output.results) perProjection.set(result.projection, [...(perProjection.get(result.projection) ?? []), result.events / result.seconds]);
        rss.push(output.peakRssBytes / 1024 / 1024);
      }
      const all = summarize(totals);
      const peakRssMb = Math.max(...rss);
      figures.push({
        scenario: 'rebuild all projections',
        variant: store,
        unit: 'events/s',
        ...all,
        peakRssMb,
        ratio: `${Math.round((100 * all.median) / raw.median)}% of raw read`,
        note: 'no Emmett counterpart; events in the data set / total time of the three rebuilds',
        target: target(store, all.median, raw.median, peakRssMb),
      });
      for (const [projection, rates] of perProjection) {
        figures.push({ scenario: `  rebuild ${projection}`, variant: store, unit: 'events/s', ...summarize(rates) });
      }
    }
    figures.push({ scenario: 'raw SQLite read+parse', variant: 'rebuild rows', unit: 'events/s', ...raw, note: 'no baseline: the limit' });
    return figures;
  },
};
