import { join } from 'node:path';
import { EmbeddedEventStore, type EventStore } from '@deals/event-store';
import { EmbeddedIdempotencyStore, type IdempotencyStore } from '@deals/idempotency';
import { type AppConfig, Clock, SystemClock } from '@deals/platform';
import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, EVENT_STORE, IDEMPOTENCY_STORE } from './tokens';

/** Picks an adapter for each port from the configuration; closes them on shutdown. */
@Global()
@Module({})
export class InfrastructureModule implements OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly eventStore: EventStore,
    @Inject(IDEMPOTENCY_STORE) private readonly idempotency: IdempotencyStore,
  ) {}

  static forRoot(config: AppConfig, clock: Clock = new SystemClock()): DynamicModule {
    return {
      module: InfrastructureModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: Clock, useValue: clock },
        {
          provide: EVENT_STORE,
          useFactory: (): EventStore => EmbeddedEventStore.open({ path: join(config.dataDir, 'events.sqlite') }),
        },
        {
          provide: IDEMPOTENCY_STORE,
          useFactory: (): IdempotencyStore =>
            EmbeddedIdempotencyStore.open(join(config.dataDir, 'idempotency.sqlite'), () => clock.now().getTime()),
        },
      ],
      exports: [APP_CONFIG, Clock, EVENT_STORE, IDEMPOTENCY_STORE],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.eventStore.close();
    await this.idempotency.close();
  }
}
