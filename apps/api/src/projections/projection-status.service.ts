import type { EventStore } from '@deals/event-store';
import type { AppConfig } from '@deals/platform';
import { ProjectionRunner, type ProjectionStatus } from '@deals/projections';
import type { ReadModelStore } from '@deals/read-models';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, EVENT_STORE, READ_MODEL_STORE } from '../infrastructure/tokens';
import { allProjections } from './projection-registry';

/**
 * Runs the projections in this process while the service runs, each from its own checkpoint, and
 * reports how far each one is behind the event store (lag in events and in time).
 */
@Injectable()
export class ProjectionStatusService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Projections');
  private readonly runners: ReadonlyMap<string, ProjectionRunner>;

  constructor(
    @Inject(EVENT_STORE) eventStore: EventStore,
    @Inject(READ_MODEL_STORE) readModels: ReadModelStore,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.runners = new Map(
      allProjections(config).map((projection) => [projection.name, new ProjectionRunner(eventStore, readModels, projection)]),
    );
  }

  onApplicationBootstrap(): void {
    for (const runner of this.runners.values()) runner.start();
    this.logger.log(`Running projections: ${[...this.runners.keys()].join(', ') || 'none'}`);
  }

  /** Graceful: each runner commits the batch in hand and its checkpoint before the stores close. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.runners.values()].map((runner) => runner.stop()));
  }

  async status(projection: string): Promise<ProjectionStatus> {
    return this.runner(projection).status();
  }

  async statuses(): Promise<ProjectionStatus[]> {
    return Promise.all([...this.runners.values()].map((runner) => runner.status()));
  }

  /** Resolves once every projection has caught up with the store's head as it is now. */
  async caughtUp(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const statuses = await this.statuses();
      if (statuses.every((status) => status.caughtUp)) return;
      if (Date.now() > deadline) throw new Error(`Projections still behind after ${timeoutMs} ms: ${JSON.stringify(statuses)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private runner(projection: string): ProjectionRunner {
    const runner = this.runners.get(projection);
    if (!runner) throw new Error(`No projection named ${projection}`);
    return runner;
  }
}
