// Rebuild of every projection from the first event, on each read-model store.
import { type Figure, notRun, redisAnswers, runWorker, type Scenario, summarize } from '../harness';

export const rebuildScenario: Scenario = {
  name: 'rebuild',
  async run({ eventsFile, runs, redisUrl }): Promise<Figure[]> {
    const figures: Figure[] = [];
    for (const store of ['embedded', 'redis'] as const) {
      if (store === 'redis' && !(await redisAnswers(redisUrl))) {
        figures.push(notRun('rebuild all projections', store, 'events/s', `no Redis at ${redisUrl}`));
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
  },
};
