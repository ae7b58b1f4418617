import type { AppConfig, Clock } from '@deals/platform';
import { type DynamicModule, Module } from '@nestjs/common';
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
import { ProjectionsModule, RelayModule } from './projections/projections.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, clock?: Clock): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CqrsModule.forRoot(),
        InfrastructureModule.forRoot(config, clock),
        MetricsModule,
        // API_WORKERS=off: the projector and relay apps do this work; the API only reports lag.
        ProjectionsModule.forRoot(config.apiWorkers === 'in-process'),
        RelayModule.forRoot(config.apiWorkers === 'in-process'),
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
