import type { EventStore } from '@deals/event-store';
import { FencedReadModelStore, LeaderElection, type LeaderElectionStatus, type LeaseStore } from '@deals/leases';
import { type AppConfig, TurnShared } from '@deals/platform';
import { ProjectionRunner, type ProjectionStatus } from '@deals/projections';
import type { ReadModelStore } from '@deals/read-models';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { Registry } from 'prom-client';
import { APP_CONFIG, EVENT_STORE, LEASE_STORE, READ_MODEL_STORE } from '../infrastructure/tokens';
import { scrapedGauge } from './metrics';
import { allProjections } from './projection-registry';

/** Whether this process runs the projections (under the lease) or only reports on them. */
export const RUN_PROJECTIONS = Symbol('RunProjections');

/** The lease the projector app and an API running projections in-process compete for. */
export const projectorLease = 'projector';

const projectionGauges: ReadonlyArray<[name: string, help: string, value: (status: ProjectionStatus) => number]> = [
  ['deals_projection_lag_events', 'Events in the store the projection has not processed yet', (s) => s.lagEvents],
  ['deals_projection_lag_seconds', 'Age of the oldest event the projection has not processed yet', (s) => s.lagMs / 1000],
  ['deals_projection_events_processed', 'Events the projection has processed since it was last rebuilt', (s) => s.eventsProcessed],
];

/**
 * Reports how far each projection is behind the event store (lag in events and in time) and, where
 * RUN_PROJECTIONS is set, runs them all while this process holds the `projector` lease: one process
 * of those sharing the read-model store projects, the others stand by. The runners write through a
 * FencedReadModelStore, so a process that lost the lease commits nothing more.
 */
@Injectable()
export class ProjectionStatusService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Projections');
  /** Idle until this process leads; replaced at each term, so a term starts from the stored checkpoints. */
  private runners: ReadonlyMap<string, ProjectionRunner>;
  readonly election: LeaderElection | undefined;
  private readonly statusesThisTurn = new TurnShared<string, ProjectionStatus>();

  constructor(
    @Inject(EVENT_STORE) private readonly eventStore: EventStore,
    @Inject(READ_MODEL_STORE) readModels: ReadModelStore,
    @Inject(LEASE_STORE) leases: LeaseStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RUN_PROJECTIONS) run: boolean,
    registry: Registry,
  ) {
    this.runners = this.createRunners(readModels);
    if (run) {
      const election: LeaderElection = new LeaderElection(
        leases,
        {
          start: () => {
            this.runners = this.createRunners(new FencedReadModelStore(readModels, election));
            for (const runner of this.runners.values()) runner.start();
            this.logger.log(`Running projections: ${[...this.runners.keys()].join(', ') || 'none'}`);
          },
          // Graceful: each runner commits the batch in hand and its checkpoint.
          stop: async () => {
            await Promise.all([...this.runners.values()].map((runner) => runner.stop()));
          },
        },
        { name: projectorLease, ttlMs: config.leaseTtlMs, log: (message) => this.logger.log(message) },
      );
      this.election = election;
    }
    for (const [name, help, value] of projectionGauges) {
      scrapedGauge(registry, name, help, ['projection'], async () => (await this.statuses()).map((status) => [{ projection: status.projection }, value(status)] as const));
    }
    if (this.election) {
      const election = this.election;
      scrapedGauge(registry, 'deals_projector_leader', 'Whether this process runs the projections (1) or stands by (0)', ['lease'], async () => [
        [{ lease: projectorLease }, election.role === 'leader' ? 1 : 0],
      ]);
    }
  }

  /** Takes the lease if it is free before the application answers, so a lone process projects at once. */
  async onApplicationBootstrap(): Promise<void> {
    await this.election?.start();
    if (this.election?.role === 'standby') this.logger.log(`Standing by: another process holds the ${projectorLease} lease`);
  }

  /** Graceful: the runners commit the batch in hand and their checkpoints, then the lease goes to a standby. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.election?.stop();
  }

  /** Every answer read from a projection reports its lag: the answers of one turn share one read of it. */
  async status(projection: string): Promise<ProjectionStatus> {
    const runner = this.runner(projection);
    return this.statusesThisTurn.get(projection, () => runner.status());
  }

  async statuses(): Promise<ProjectionStatus[]> {
    return Promise.all([...this.runners.values()].map((runner) => runner.status()));
  }

  /** Leader or standby, when this process runs projections. */
  leadership(): LeaderElectionStatus | undefined {
    return this.election?.status();
  }

  /** Resolves once every projection has caught up with the store's head as it is now, whichever process projects. */
  async caughtUp(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const statuses = await this.statuses();
      if (statuses.every((status) => status.caughtUp)) return;
      if (Date.now() > deadline) throw new Error(`Projections still behind after ${timeoutMs} ms: ${JSON.stringify(statuses)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private createRunners(store: ReadModelStore): ReadonlyMap<string, ProjectionRunner> {
    const options = { minLiveCommitIntervalMs: this.config.projectionCommitIntervalMs };
    return new Map(allProjections(this.config).map((projection) => [projection.name, new ProjectionRunner(this.eventStore, store, projection, options)]));
  }

  private runner(projection: string): ProjectionRunner {
    const runner = this.runners.get(projection);
    if (!runner) throw new Error(`No projection named ${projection}`);
    return runner;
  }
}
