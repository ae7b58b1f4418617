import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ReadModelStore } from '@deals/read-models';
import { analyticsProjectionName, bases, groupings, queryCycleLength } from '@deals/projections';
import { READ_MODEL_STORE } from '../../../api/src/infrastructure/tokens';
import { isoTime, oneOf, parseCommandArgs, safeName } from '../shared/args';
import { authorize } from '../shared/authorize';
import { cliConfig, withCliContext } from '../shared/app-context';
import { openReplay } from '../replay/replay-store';
import { CliFailure, type CliIo, exitCodes, type ExitCode, UsageError } from '../shared/cli-io';
import { count } from '../shared/progress';
import { analyticsCsv } from './analytics-csv';

export const exportAnalyticsUsage = `export-analytics [--groupBy owner|source|month] [--basis cohort|period] [--from <date>] [--to <date>]
                   [--asOf <date>] [--from-replay <name>] [--out <file.csv>]
    Write the cycle-length analytics as CSV: one row for all deals ("all"), then one per group.
    --basis        cohort (default): deals captured in [from, to); period: what happened in [from, to)
    --from, --to   window, from inclusive, to exclusive (ISO 8601; a date alone is midnight UTC)
    --asOf         as the numbers stood then (default: now, or the replay's --until)
    --from-replay  read the read model a replay wrote, instead of the live one
    --out          write to this file instead of stdout`;

export async function runExportAnalytics(args: readonly string[], io: CliIo): Promise<ExitCode> {
  const { values } = parseCommandArgs(args, {
    groupBy: { type: 'string' },
    basis: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    asOf: { type: 'string' },
    'from-replay': { type: 'string' },
    out: { type: 'string' },
  });
  const groupBy = oneOf('groupBy', values.groupBy, groupings);
  const basis = oneOf('basis', values.basis, bases, 'cohort');
  const from = isoTime('from', values.from);
  const to = isoTime('to', values.to);
  const asOf = isoTime('asOf', values.asOf);
  if (from && to && to.getTime() <= from.getTime()) throw new UsageError('--to must be later than --from');
  const now = new Date();
  if (asOf && asOf.getTime() > now.getTime()) throw new UsageError('--asOf lies in the future: there are no numbers for it yet');
  const replayName = values['from-replay'] === undefined ? undefined : safeName('from-replay', values['from-replay']);
  const out = values.out === undefined ? undefined : resolve(io.cwd, values.out);
  const config = cliConfig(io);
  authorize(config, io, 'export-analytics', ['analyst', 'sales']);

  const exportFrom = async (store: ReadModelStore, defaultAsOf: Date | undefined, source: string): Promise<ExitCode> => {
    const checkpoint = await store.checkpoint(analyticsProjectionName);
    if (!checkpoint) {
      throw new CliFailure(`${source} has no analytics: the analytics projection never ran on it (see "npm run cli -- rebuild")`);
    }
    const view = await queryCycleLength(store, { basis, groupBy, from, to, asOf: asOf ?? defaultAsOf }, now);
    const csv = analyticsCsv(view);
    io.stderr.write(`Analytics from ${source}, as of ${view.asOf}: ${count(view.groups.length + 1)} row${view.groups.length === 0 ? '' : 's'}\n`);
    if (out === undefined) {
      io.stdout.write(csv);
    } else {
      writeAtomically(out, csv);
      io.stderr.write(`Wrote ${out}\n`);
    }
    return exitCodes.ok;
  };

  if (replayName !== undefined) {
    const replay = await openReplay(config, replayName, { mustExist: true });
    try {
      return await exportFrom(replay.store, replay.until, replay.describe);
    } finally {
      await replay.store.close();
    }
  }
  return withCliContext(config, (context) => exportFrom(context.get<ReadModelStore>(READ_MODEL_STORE), undefined, 'the live read model'));
}

/** Written beside the target and renamed over it, so a reader never sees half a file. */
function writeAtomically(path: string, text: string): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new CliFailure(`Cannot write ${path}: ${(error as Error).message}`);
  }
}
