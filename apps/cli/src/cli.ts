import { exportAnalyticsUsage, runExportAnalytics } from './export-analytics/export-analytics.command';
import { importUsage, runImportHistory } from './import-history/import-history.command';
import { rebuildUsage, runRebuild } from './rebuild/rebuild.command';
import { replayUsage, runReplay } from './replay/replay.command';
import { CliFailure, type CliIo, exitCodes, type ExitCode, UsageError } from './shared/cli-io';

type CommandRunner = (args: readonly string[], io: CliIo) => Promise<ExitCode>;

const commands: Readonly<Record<string, CommandRunner>> = {
  rebuild: runRebuild,
  replay: runReplay,
  'export-analytics': runExportAnalytics,
  import: runImportHistory,
  'import-history': runImportHistory,
};

export const usage = `Deal service CLI, for operators and analysts. Reads the same environment as the API
(DATA_DIR, READ_MODEL_STORE, REDIS_URL, API_KEYS, ...). Once API_KEYS is configured, DEALS_API_KEY must
hold a key with the command's role: admin for rebuild, replay and import; analyst or sales for
export-analytics.

Usage: npm run cli -- <command> [options]

Commands:
  ${rebuildUsage}

  ${replayUsage}

  ${exportAnalyticsUsage}

  ${importUsage}

  help
    This text.

Exit codes: 0 done, 1 failed (or, for import, some rows rejected), 2 wrong usage.
Set DEBUG=1 to see the stack trace of an unexpected failure.
More: docs/cli.md
`;

/** Runs one command line; answers the exit code instead of exiting, so tests run it in-process. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.stderr : io.stdout).write(usage);
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  const command = commands[name];
  if (!command || !Object.hasOwn(commands, name)) {
    io.stderr.write(`Unknown command ${JSON.stringify(name)}. Run "npm run cli -- help" for the list.\n`);
    return exitCodes.usage;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(usage);
    return exitCodes.ok;
  }
  try {
    return await command(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${error.message}\nRun "npm run cli -- help" for usage.\n`);
      return exitCodes.usage;
    }
    if (error instanceof CliFailure) {
      io.stderr.write(`${error.message}\n`);
      return exitCodes.failure;
    }
    // An operator needs the reason; the stack trace only when asked for (DEBUG set), e.g. for a bug report.
    const detail = error instanceof Error ? (io.env['DEBUG'] ? (error.stack ?? error.message) : error.message) : String(error);
    io.stderr.write(`${name} failed: ${detail}\n`);
    return exitCodes.failure;
  }
}
