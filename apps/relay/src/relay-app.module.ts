import type { AppConfig } from '@deals/platform';
import { Controller, Get, type DynamicModule, Module, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { InfrastructureModule } from '../../api/src/infrastructure/infrastructure.module';
import { MetricsModule } from '../../api/src/projections/metrics';
import { RelayModule } from '../../api/src/projections/projections.module';
import { RelayWorkerService } from '../../api/src/projections/relay-worker.service';

@Controller('health')
export class RelayHealthController {
  constructor(private readonly relay: RelayWorkerService) {}

  /**
   * Leader or standby, and the relay's checkpoint and lag. 503 only when this process leads and the
   * relay stopped on an error; `degraded` (still 200: a restart would not help) while it leads and
   * recovers from a broker failure, such as the broker away or the topic missing.
   */
  @Get()
  async health(@Res({ passthrough: true }) reply: FastifyReply) {
    const status = await this.relay.status();
    const failed = status === undefined || (status.leadership.role === 'leader' && (status.relay.error !== undefined || !status.relay.running));
    void reply.status(failed ? 503 : 200);
    const degraded = status?.leadership.role === 'leader' && status.relay.lastFailure !== undefined;
    return { status: failed ? 'failing' : degraded ? 'degraded' : 'ok', role: status?.leadership.role, lease: status?.leadership, relay: status?.relay };
  }

  @Get('live')
  liveness() {
    return { status: 'ok' };
  }
}

/** The relay process: the Kafka relay under the `relay-<topic>` lease, with health and metrics. */
@Module({})
export class RelayAppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: RelayAppModule,
      imports: [InfrastructureModule.forRoot(config, { idempotency: false }), MetricsModule, RelayModule.forRoot(true)],
      controllers: [RelayHealthController],
    };
  }
}
