import { type Fence, LeaderElection, type LeaseStore } from '@deals/leases';
import { projectorLease } from '../../../api/src/projections/projection-status.service';
import { CliFailure, type OutputStream } from './cli-io';

export interface ProjectorLeaseOptions {
  readonly ttlMs: number;
  /** How often the lease is renewed, or tried for while another holds it. */
  readonly renewEveryMs: number;
  /** Wait for the holder to let the lease go instead of failing at once. */
  readonly wait: boolean;
  readonly stderr: OutputStream;
}

/**
 * Runs `work` while this process holds the `projector` lease, the one the projector apps and an API
 * running projections in-process compete for: they stand by meanwhile instead of racing a rebuild
 * that resets and refills their read model, and take over from its checkpoints once it is released.
 * Writes go through the fence, so losing the lease mid-way stops the work rather than racing.
 */
export async function withProjectorLease<T>(leases: LeaseStore, options: ProjectorLeaseOptions, work: (fence: Fence) => Promise<T>): Promise<T> {
  const election = new LeaderElection(leases, { start: () => undefined, stop: () => Promise.resolve() }, {
    name: projectorLease,
    ttlMs: options.ttlMs,
    renewEveryMs: options.renewEveryMs,
    log: () => undefined,
  });
  await election.start();
  try {
    let told = false;
    while (election.role !== 'leader') {
      const holder = (await leases.holder(projectorLease)) ?? 'a process that is letting it go';
      if (!options.wait) {
        throw new CliFailure(
          `The ${projectorLease} lease is held by ${holder}: a projector (or an API with API_WORKERS=in-process) is running on this read model. ` +
            'Stop it, or pass --wait to start once it lets the lease go.',
        );
      }
      if (!told) options.stderr.write(`Waiting for the ${projectorLease} lease, held by ${holder}\n`);
      told = true;
      // The election itself tries to take the lease every renewEveryMs; looking twice as often notices at once.
      await new Promise((resolve) => setTimeout(resolve, Math.floor(options.renewEveryMs / 2)));
    }
    return await work(election);
  } finally {
    await election.stop();
  }
}
