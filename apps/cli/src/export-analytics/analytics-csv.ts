import { funnelStages, type CycleLengthView, type CycleMetrics } from '@deals/projections';
import { csvRow } from '../../../api/src/audit/list-audit-entries/audit-export-format';
import { openStages } from '@deals/domain';

/**
 * The cycle-length analytics as CSV: one row for all deals ("all"), then one per group, with the
 * main figures as flat columns. Every column is described in docs/cli.md. Cells go through the
 * audit export's RFC 4180 writer and its formula-injection guard (an owner called "=cmd()" cannot
 * run in a spreadsheet); numbers are written as JavaScript prints them, a missing figure (no deal to
 * measure) as an empty cell.
 */

/** The group name of the row over every deal. */
export const allGroup = 'all';

type Cell = string | number | null;

const fixedColumns = [
  'group',
  'basis',
  'groupBy',
  'from',
  'to',
  'asOf',
  'open',
  'won',
  'lost',
  'winRate',
  'cycleLength.count',
  'cycleLength.meanDays',
  'cycleLength.medianDays',
  'cycleLength.p90Days',
  ...funnelStages.map((stage) => `reached.${stage}`),
  // From each stage to the next; won has no next.
  ...funnelStages.slice(0, -1).map((stage) => `conversion.${stage}`),
  ...openStages.flatMap((stage) => [`daysInStage.${stage}.meanDays`, `daysInStage.${stage}.medianDays`]),
] as const;

/** The columns, currency-dependent ones last: one win rate by value and one velocity per currency in the answer. */
export function analyticsColumns(view: CycleLengthView): string[] {
  const currencies = currenciesOf(view);
  return [
    ...fixedColumns,
    ...currencies.map((code) => `winRateByValue.${code}`),
    ...currencies.map((code) => `velocityPerDay.${code}`),
  ];
}

export function analyticsCsv(view: CycleLengthView): string {
  const columns = analyticsColumns(view);
  const currencies = currenciesOf(view);
  const rows = [{ key: allGroup, metrics: view as CycleMetrics }, ...view.groups.map((group) => ({ key: group.key, metrics: group as CycleMetrics }))];
  return [
    csvRow(columns),
    ...rows.map(({ key, metrics }) => csvRow(rowCells(view, key, metrics, currencies).map(text))),
  ].join('');
}

function rowCells(view: CycleLengthView, key: string, metrics: CycleMetrics, currencies: readonly string[]): Cell[] {
  const stage = (name: string) => metrics.stages.find((entry) => entry.stage === name);
  return [
    key,
    view.basis,
    view.groupBy,
    view.from,
    view.to,
    view.asOf,
    metrics.open,
    metrics.won,
    metrics.lost,
    metrics.winRate.byCount,
    metrics.cycleLength.count,
    metrics.cycleLength.meanDays,
    metrics.cycleLength.medianDays,
    metrics.cycleLength.p90Days,
    ...funnelStages.map((name) => stage(name)?.reached ?? 0),
    ...funnelStages.slice(0, -1).map((name) => stage(name)?.conversion.nextStep ?? null),
    ...openStages.flatMap((name) => {
      const time = stage(name)?.timeInStage?.cumulative;
      return [time?.meanDays ?? null, time?.medianDays ?? null];
    }),
    ...currencies.map((code) => metrics.winRate.byValue[code] ?? null),
    ...currencies.map((code) => metrics.velocity[code]?.perDay ?? null),
  ];
}

function currenciesOf(view: CycleLengthView): string[] {
  const codes = new Set<string>();
  for (const metrics of [view, ...view.groups]) {
    for (const code of Object.keys(metrics.winRate.byValue)) codes.add(code);
    for (const code of Object.keys(metrics.velocity)) codes.add(code);
  }
  return [...codes].sort();
}

function text(cell: Cell): string {
  return cell === null ? '' : String(cell);
}
