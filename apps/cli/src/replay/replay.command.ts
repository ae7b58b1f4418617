import type { StoredDealEvent } from '@deals/deal-streams';
import type { EventStore } from '@deals/event-store';
import { EVENT_STORE } from '../../../api/src/infrastructure/tokens';
import { allProjections } from '../../../api/src/projections/projection-registry';
import { isoTime, parseCommandArgs, safeName } from '../shared/args';
import { authorize } from '../shared/authorize';
import { cliConfig, withCliContext } from '../shared/app-context';
import { CliFailure, type CliIo, exitCodes, type ExitCode, UsageError } from '../shared/cli-io';
import { describeRebuild, rebuildProjection } from '../shared/run-projection';
import { forgetManifest, openReplay, writeManifest } from './replay-store';

export const replayUsage = `replay --until <date> [--into <name>]
    Replay every projection with the events that occurred up to <date> (inclusive; ISO 8601) into a
    separate read model named <name> (default: until-<date>), leaving the live one untouched.
    Query it with: export-analytics --from-replay <name>`;

export async function runReplay(args: readonly string[], io: CliIo): Promise<ExitCode> {
  const { values } = parseCommandArgs(args, { until: { type: 'string' }, into: { type: 'string' } });
  const until = isoTime('until', values.until);
  if (until === undefined) throw new UsageError('replay needs --until <date>, e.g. --until 2026-03-31T23:59:59Z');
  const name = safeName('into', values.into ?? defaultName(until));
  const config = cliConfig(io);
  authorize(config, io, 'replay', []);
  const projections = allProjections(config);
  if (projections.length === 0) throw new CliFailure('No projections are registered in this build: nothing to replay');
  const untilMs = until.getTime();
  // Within a deal, occurredAt never goes backwards (the Deal refuses it), so this keeps a prefix of every deal's history.
  const filter = (event: StoredDealEvent): boolean => Date.parse(event.metadata.occurredAt) <= untilMs;

  return withCliContext(config, async (context) => {
    const eventStore = context.get<EventStore>(EVENT_STORE);
    const replay = await openReplay(config, name, { mustExist: false });
    try {
      await forgetManifest(replay.store);
      io.stderr.write(`Replaying events that occurred up to ${until.toISOString()} into ${replay.describe}\n`);
      let position;
      for (const projection of projections) {
        const result = await rebuildProjection(eventStore, replay.store, projection, io.stderr, { label: `replay ${projection.name}`, filter });
        io.stdout.write(`replayed ${describeRebuild(result)}\n`);
        position = (await replay.store.checkpoint(projection.name))?.position ?? position;
      }
      await writeManifest(
        replay.store,
        { name, until: until.toISOString(), createdAt: new Date().toISOString(), projections: projections.map((projection) => projection.name) },
        position ?? { commit: 0n, prepare: 0n },
      );
      io.stdout.write(
        [
          `Replay "${name}" (events up to ${until.toISOString()}) is in ${replay.describe}.`,
          `Query it with:  npm run cli -- export-analytics --from-replay ${name} [--groupBy owner|source|month]`,
          'The HTTP API cannot serve it: the API reads only its live read model, and its projector would',
          'bring any read model it opens up to date, undoing the cut-off.',
          '',
        ].join('\n'),
      );
      return exitCodes.ok;
    } finally {
      await replay.store.close();
    }
  });
}

/** until-2026-03-31 for midnight UTC, until-2026-03-31t12-30-00z otherwise: a valid name that says what it holds. */
function defaultName(until: Date): string {
  const iso = until.toISOString();
  const day = iso.slice(0, 10);
  return iso.endsWith('T00:00:00.000Z') ? `until-${day}` : `until-${iso.slice(0, 19).replace(/:/g, '-').toLowerCase()}z`;
}
