import type { AppConfig } from '@deals/platform';
import { type DynamicModule, Global, type LogLevel, Module } from '@nestjs/common';
import { ProjectionStatusService, RUN_PROJECTIONS } from './projection-status.service';
import { ProjectorThread } from './projector-thread.service';
import { RelayWorkerService, RUN_RELAY } from './relay-worker.service';

/**
 * The projections' status (lag) for the read endpoints and metrics; with `run`, the projections
 * themselves, under the `projector` lease (the projector app, and the API's projector thread unless
 * API_WORKERS=off).
 */
@Global()
@Module({})
export class ProjectionsModule {
  static forRoot(run: boolean): DynamicModule {
    return {
      module: ProjectionsModule,
      providers: [{ provide: RUN_PROJECTIONS, useValue: run }, ProjectionStatusService],
      exports: [ProjectionStatusService],
    };
  }
}

/** The Kafka relay, under the `relay-<topic>` lease, when `run` and KAFKA_BROKERS are set (the relay app; the API unless API_WORKERS=off). */
@Module({})
export class RelayModule {
  static forRoot(run: boolean): DynamicModule {
    return {
      module: RelayModule,
      providers: [{ provide: RUN_RELAY, useValue: run }, RelayWorkerService],
      exports: [RelayWorkerService],
    };
  }
}

/** API_WORKERS=in-process: the projections on a worker thread of the API (projector-thread.ts). */
@Module({})
export class ProjectorThreadModule {
  static forRoot(config: AppConfig, logLevels: LogLevel[]): DynamicModule {
    return {
      module: ProjectorThreadModule,
      providers: [{ provide: ProjectorThread, useFactory: () => new ProjectorThread(config, logLevels) }],
    };
  }
}
