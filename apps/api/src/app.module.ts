import type { AppConfig, Clock } from '@deals/platform';
import { type DynamicModule, type LogLevel, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { AnalyticsModule } from './analytics/analytics.module';
import { AuditModule } from './audit/audit.module';
import { ApiKeyGuard } from './auth/api-key.guard';
import { DealsModule } from './deals/deals.module';
import { DemoSeeder } from './demo/demo-seeder';
import { HealthController } from './health/health.controller';
import { InfrastructureModule } from './infrastructure/infrastructure.module';
import { PipelineModule } from './pipeline/pipeline.module';
import { MetricsModule } from './projections/metrics';
import { ProjectionsModule, ProjectorThreadModule, RelayModule } from './projections/projections.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, clock?: Clock, logLevels: LogLevel[] = ['warn', 'error']): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CqrsModule.forRoot(),
        InfrastructureModule.forRoot(config, { idempotency: true }, clock),
        MetricsModule,
        // The API reports the projections' lag; with API_WORKERS=in-process it runs them on a worker
        // thread and the relay on its own. off: the projector and relay apps do that work.
        ProjectionsModule.forRoot(false),
        RelayModule.forRoot(config.apiWorkers === 'in-process'),
        ...(config.apiWorkers === 'in-process' ? [ProjectorThreadModule.forRoot(config, logLevels)] : []),
        DealsModule,
        PipelineModule,
        AnalyticsModule,
        AuditModule,
      ],
      controllers: [HealthController],
      providers: [{ provide: APP_GUARD, useClass: ApiKeyGuard }, DemoSeeder],
    };
  }
}
