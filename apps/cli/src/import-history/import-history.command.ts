import { actorPattern } from '@deals/platform';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CommandBus } from '@nestjs/cqrs';
import { DealRepository } from '../../../api/src/deals/deal-repository';
import { oneOf, parseCommandArgs } from '../shared/args';
import { authorize } from '../shared/authorize';
import { cliConfig, withCliContext } from '../shared/app-context';
import { CliFailure, type CliIo, exitCodes, type ExitCode, UsageError } from '../shared/cli-io';
import { ProgressReporter, count } from '../shared/progress';
import { formatOf, HistoryFileError, historyFormats, readHistoryFile } from './history-file';
import { type AlreadyImported, describeRejection, importHistory } from './import-history';

export const importUsage = `import <file.csv|file.jsonl> [--actor <name>] [--dry-run] [--format csv|jsonl]
    Import deal history exported from another CRM: one row per step, in order, with a backdated
    occurredAt. Rows are checked like API requests; bad rows are reported with their line number and
    skipped. Importing the same file again appends nothing. Exit 1 when any row was rejected.
    --actor     the actor recorded on the imported events, in local development (default: import);
                with API_KEYS configured it is the actor of DEALS_API_KEY, which needs the admin role
    --dry-run   check every row's format and fields, write nothing (stage rules are checked only on a real run)
    --format    when the file name does not end in .csv, .jsonl or .ndjson
    Format: docs/import.md`;

export async function runImportHistory(args: readonly string[], io: CliIo): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      actor: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      format: { type: 'string' },
    },
    1,
  );
  const file = positionals[0];
  if (file === undefined) throw new UsageError('import needs the file to import: import <file.csv|file.jsonl>');
  const format = oneOf('format', values.format, historyFormats) ?? formatOf(file);
  if (format === undefined) throw new UsageError(`Cannot tell the format of ${file} from its name: pass --format csv or --format jsonl`);
  if (values.actor !== undefined && !actorPattern.test(values.actor)) {
    throw new UsageError('--actor must be 1 to 100 letters, digits or . _ @ -');
  }
  const path = resolve(io.cwd, file);
  if (!existsSync(path) || !statSync(path).isFile()) throw new CliFailure(`No such file: ${path}`);
  const config = cliConfig(io);
  const operator = authorize(config, io, 'import', []);
  if (operator.actor !== undefined && values.actor !== undefined && values.actor !== operator.actor) {
    throw new UsageError('--actor is for local development: with API_KEYS configured, the actor is the one of DEALS_API_KEY');
  }
  const actor = operator.actor ?? values.actor ?? 'import';
  const dryRun = values['dry-run'];

  return withCliContext(config, async (context) => {
    const progress = new ProgressReporter(io.stderr, `import ${file}`, { unit: 'rows' });
    const started = performance.now();
    let counts;
    try {
      counts = await importHistory(
        context.get(CommandBus),
        readHistoryFile(path, format),
        { actor, dryRun },
        {
          onRejected: (rejection) => {
            progress.clear();
            io.stdout.write(`${describeRejection(rejection)}\n`);
          },
          onProgress: ({ rows }) => {
            const seconds = (performance.now() - started) / 1000;
            progress.update({ processed: rows, perSecond: seconds > 0 ? rows / seconds : undefined });
          },
        },
        importedBefore(context.get(DealRepository)),
      );
    } catch (error) {
      if (error instanceof HistoryFileError) throw new CliFailure(`${file}: ${error.message}`);
      throw error;
    } finally {
      progress.clear();
    }
    const summary = dryRun
      ? `dry run: ${count(counts.valid)} valid, ${count(counts.rejected)} rejected, of ${count(counts.rows)} rows; nothing written`
      : `${count(counts.imported)} imported, ${count(counts.alreadyImported)} already imported, ${count(counts.rejected)} rejected, of ${count(counts.rows)} rows` +
        (counts.imported > 0 ? ` (correlation id ${counts.correlationId})` : '');
    io.stdout.write(`${summary}\n`);
    return counts.rejected > 0 ? exitCodes.failure : exitCodes.ok;
  });
}

/** A row's content hash is stored with its events (metadata.requestHash): found there, the row is in. */
function importedBefore(deals: DealRepository): AlreadyImported {
  return async (dealId, requestHash) => {
    const deal = await deals.load(dealId);
    for (const outcome of deal.outcomes.values()) if (outcome.requestHash === requestHash) return true;
    return false;
  };
}
