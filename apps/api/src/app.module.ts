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
        InfrastructureModule.forRoot(config, clock),
        MetricsModule,
        // API_WORKERS=off: the projector and relay apps do this work; the API only reports lag.
        // thread: the projections run on a worker thread of this process, the relay on this one.
        ProjectionsModule.forRoot(config.apiWorkers === 'in-process'),
        RelayModule.forRoot(config.apiWorkers !== 'off'),
        ...(config.apiWorkers === 'thread' ? [ProjectorThreadModule.forRoot(config, logLevels)] : []),
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
