import { join } from 'node:path';
import { EmbeddedEventStore, EsdbEventStore, type EventStore } from '@deals/event-store';
import { EmbeddedIdempotencyStore, type IdempotencyStore, RedisIdempotencyStore } from '@deals/idempotency';
import { EmbeddedLeaseStore, type LeaseStore, RedisLeaseStore } from '@deals/leases';
import { EmbeddedReadModelStore, type ReadModelStore, RedisReadModelStore } from '@deals/read-models';
import { type AppConfig, Clock, SystemClock } from '@deals/platform';
import { type DynamicModule, Global, Inject, Logger, Module, type OnApplicationShutdown, Optional, type Provider } from '@nestjs/common';
import { APP_CONFIG, EVENT_STORE, IDEMPOTENCY_STORE, LEASE_STORE, READ_MODEL_STORE } from './tokens';

export interface InfrastructureNeeds {
  /** Only apps that take commands claim Idempotency-Keys; the projector and the relay open no claims store. */
  readonly idempotency: boolean;
}

/** Picks an adapter for each port from the configuration; closes them on shutdown. */
@Global()
@Module({})
export class InfrastructureModule implements OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly eventStore: EventStore,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(LEASE_STORE) private readonly leases: LeaseStore,
    @Optional() @Inject(IDEMPOTENCY_STORE) private readonly idempotency?: IdempotencyStore,
  ) {}

  static forRoot(config: AppConfig, needs: InfrastructureNeeds, clock: Clock = new SystemClock()): DynamicModule {
    const idempotency: Provider = {
      provide: IDEMPOTENCY_STORE,
      useFactory: (): Promise<IdempotencyStore> | IdempotencyStore =>
        config.idempotencyStore === 'redis' && config.redisUrl
          ? RedisIdempotencyStore.connect(config.redisUrl, { now: () => clock.now().getTime() })
          : EmbeddedIdempotencyStore.open(join(config.dataDir, 'idempotency.sqlite'), {
              now: () => clock.now().getTime(),
              onCheckpointError: (message) =>
                new Logger('Idempotency').warn(`The claims file's checkpoint thread failed (${message}); commits copy the log themselves meanwhile`),
            }),
    };
    return {
      module: InfrastructureModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: Clock, useValue: clock },
        {
          provide: EVENT_STORE,
          useFactory: (): EventStore =>
            config.eventStore === 'esdb' && config.esdbUrl
              ? EsdbEventStore.connect(config.esdbUrl)
              : EmbeddedEventStore.open({ path: join(config.dataDir, 'events.sqlite') }),
        },
        ...(needs.idempotency ? [idempotency] : []),
        {
          provide: READ_MODEL_STORE,
          useFactory: (): Promise<ReadModelStore> | ReadModelStore =>
            config.readModelStore === 'redis' && config.redisUrl
              ? RedisReadModelStore.connect(config.redisUrl)
              : EmbeddedReadModelStore.open(join(config.dataDir, 'read-models.sqlite')),
        },
        {
          // Beside the read models, so every process writing them competes for the same leases.
          provide: LEASE_STORE,
          useFactory: (): Promise<LeaseStore> | LeaseStore =>
            config.readModelStore === 'redis' && config.redisUrl
              ? RedisLeaseStore.connect(config.redisUrl)
              : EmbeddedLeaseStore.open(join(config.dataDir, 'leases.sqlite')),
        },
      ],
      exports: [APP_CONFIG, Clock, EVENT_STORE, READ_MODEL_STORE, LEASE_STORE, ...(needs.idempotency ? [IDEMPOTENCY_STORE] : [])],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.eventStore.close();
    await this.idempotency?.close();
    await this.readModels.close();
    await this.leases.close();
  }
}
