import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedReadModelStore } from '@deals/read-models';
import { queryCycleLength } from '@deals/projections';
import { parseCsv } from '../../../api/src/audit/testing/parse-csv';
import { cli, importedHistory, tempDataDir } from '../testing/cli-harness';

describe('export-analytics', () => {
  let data: ReturnType<typeof tempDataDir>;
  let env: Record<string, string>;

  beforeEach(async () => {
    ({ data, env } = await importedHistory());
  });
  afterEach(() => data.remove());

  it('writes RFC 4180 CSV with one row for all deals and one per group, matching the analytics query', async () => {
    const out = join(data.dir, 'by-owner.csv');
    const asOf = '2025-06-01T00:00:00.000Z';

    const run = await cli(['export-analytics', '--groupBy', 'owner', '--asOf', asOf, '--out', out], env);

    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    const [header, ...rows] = parseCsv(readFileSync(out, 'utf8'));
    const table = rows.map((row) => Object.fromEntries(header!.map((column, index) => [column, row[index]!])));
    expect(table.map((row) => row['group'])).toEqual(['all', 'ana', 'ben']);

    const store = EmbeddedReadModelStore.open(join(data.dir, 'read-models.sqlite'));
    try {
      const view = await queryCycleLength(store, { basis: 'cohort', groupBy: 'owner', asOf: new Date(asOf) }, new Date());
      for (const [row, metrics] of [[table[0]!, view], ...view.groups.map((group, index) => [table[index + 1]!, group] as const)] as const) {
        expect(row).toMatchObject({
          basis: 'cohort',
          groupBy: 'owner',
          asOf,
          won: String(metrics.won),
          lost: String(metrics.lost),
          open: String(metrics.open),
          winRate: metrics.winRate.byCount === null ? '' : String(metrics.winRate.byCount),
          'cycleLength.medianDays': metrics.cycleLength.medianDays === null ? '' : String(metrics.cycleLength.medianDays),
          'reached.proposal': String(metrics.stages.find((stage) => stage.stage === 'proposal')!.reached),
          'winRateByValue.EUR': String(metrics.winRate.byValue['EUR'] ?? ''),
        });
      }
    } finally {
      await store.close();
    }
    // ben: A won in 40 days (2025-01-06 to 02-15), D won in 68 days; ana: B lost.
    expect(table[2]).toMatchObject({ won: '2', lost: '0', 'cycleLength.count': '2', 'cycleLength.meanDays': '54' });
    expect(table[1]).toMatchObject({ won: '0', lost: '1', winRate: '0', 'cycleLength.count': '0', 'cycleLength.meanDays': '' });
  });

  it('writes to stdout without --out, and takes a window and the period basis', async () => {
    const run = await cli(['export-analytics', '--basis', 'period', '--from', '2025-02-01', '--to', '2025-03-01', '--groupBy', 'month'], env);

    expect(run.code).toBe(0);
    const [header, all] = parseCsv(run.stdout);
    const row = Object.fromEntries(header!.map((column, index) => [column, all![index]]));
    // In February 2025: A won (02-15) and B lost (02-01).
    expect(row).toMatchObject({ group: 'all', basis: 'period', from: '2025-02-01T00:00:00.000Z', to: '2025-03-01T00:00:00.000Z', won: '1', lost: '1' });
  });

  it('fails with exit 1 when the read model holds no analytics yet', async () => {
    const empty = tempDataDir();
    try {
      const run = await cli(['export-analytics'], { DATA_DIR: empty.dir });
      expect(run).toMatchObject({ code: 1, stderr: expect.stringContaining('never ran') });
    } finally {
      empty.remove();
    }
  });
});
