import type { AppConfig, Clock } from '@deals/platform';
import { type DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { DealsModule } from '../../api/src/deals/deals.module';
import { InfrastructureModule } from '../../api/src/infrastructure/infrastructure.module';

/**
 * The stores and the deal command handler, without the HTTP app's projection runners: a rebuild
 * or replay in this process must not race a live runner writing the same read model.
 */
@Module({})
export class CliModule {
  static forRoot(config: AppConfig, clock?: Clock): DynamicModule {
    return {
      module: CliModule,
      imports: [CqrsModule.forRoot(), InfrastructureModule.forRoot(config, { idempotency: true }, clock), DealsModule],
    };
  }
}
