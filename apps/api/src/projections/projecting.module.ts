import type { AppConfig } from '@deals/platform';
import { type DynamicModule, Module } from '@nestjs/common';
import { InfrastructureModule } from '../infrastructure/infrastructure.module';
import { MetricsModule } from './metrics';
import { ProjectionsModule } from './projections.module';

/**
 * Every projection, run under the `projector` lease, with its stores and metrics: the work of the
 * projector app (apps/projector) and of the API's projector thread (projector-thread.ts) alike.
 */
@Module({})
export class ProjectingModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: ProjectingModule, imports: [InfrastructureModule.forRoot(config, { idempotency: false }), MetricsModule, ProjectionsModule.forRoot(true)] };
  }
}
