import type { EventStore } from '@deals/event-store';
import { FencedReadModelStore, type LeaseStore } from '@deals/leases';
import type { ReadModelStore } from '@deals/read-models';
import { EVENT_STORE, LEASE_STORE, READ_MODEL_STORE } from '../../../api/src/infrastructure/tokens';
import { allProjections } from '../../../api/src/projections/projection-registry';
import { parseCommandArgs } from '../shared/args';
import { authorize } from '../shared/authorize';
import { cliConfig, withCliContext } from '../shared/app-context';
import { CliFailure, type CliIo, exitCodes, type ExitCode, UsageError } from '../shared/cli-io';
import { withProjectorLease } from '../shared/projector-lease';
import { describeRebuild, rebuildProjection } from '../shared/run-projection';

export const rebuildUsage = `rebuild [--projection pipeline|analytics|audit|all] [--wait]
    Reset a projection (default: all) and rebuild it from the first event, with a progress bar on
    stderr. Admin operation. Runs under the projector lease, so projectors on the same read model
    stand by meanwhile and go on from the rebuilt checkpoints after it; while a projector (or an API
    with API_WORKERS=in-process) holds the lease, it fails naming the holder, or with --wait waits
    for the lease.`;

/**
 * The lease a rebuild holds: longer than a projector's, because on the embedded store its reset of a
 * populated projection and the merge of its staged index entries at the end are each one synchronous
 * transaction (for audit at 10M events, about 110 s and 186 s) during which no renewal can run. A
 * rebuild that dies keeps the projectors standing by for at most this long.
 */
const rebuildLeaseTtlMs = 300_000;

export async function runRebuild(args: readonly string[], io: CliIo): Promise<ExitCode> {
  const { values } = parseCommandArgs(args, { projection: { type: 'string', default: 'all' }, wait: { type: 'boolean', default: false } });
  const config = cliConfig(io);
  authorize(config, io, 'rebuild', []);
  const available = allProjections(config);
  const names = available.map((projection) => projection.name);
  const chosen = values.projection === 'all' ? available : available.filter((projection) => projection.name === values.projection);
  if (chosen.length === 0) {
    if (values.projection !== 'all') throw new UsageError(`--projection must be one of ${[...names, 'all'].join(', ')}; got ${JSON.stringify(values.projection)}`);
    throw new CliFailure('No projections are registered in this build: nothing to rebuild');
  }
  return withCliContext(config, async (context) => {
    const eventStore = context.get<EventStore>(EVENT_STORE);
    const readModels = context.get<ReadModelStore>(READ_MODEL_STORE);
    const leases = context.get<LeaseStore>(LEASE_STORE);
    const lease = { ttlMs: Math.max(config.leaseTtlMs, rebuildLeaseTtlMs), renewEveryMs: Math.floor(config.leaseTtlMs / 5) };
    return withProjectorLease(leases, { ...lease, wait: values.wait, stderr: io.stderr }, async (fence) => {
      const store = new FencedReadModelStore(readModels, fence);
      io.stderr.write(`Rebuilding ${chosen.map((projection) => projection.name).join(', ')} in ${where(config.readModelStore, config.dataDir)}\n`);
      for (const projection of chosen) {
        const result = await rebuildProjection(eventStore, store, projection, io.stderr, { label: `rebuild ${projection.name}` });
        io.stdout.write(`rebuilt ${describeRebuild(result)}\n`);
      }
      return exitCodes.ok;
    });
  });
}

function where(kind: 'embedded' | 'redis', dataDir: string): string {
  return kind === 'redis' ? 'the Redis read model (REDIS_URL)' : `${dataDir}/read-models.sqlite`;
}
