import type { AppConfig } from '@deals/platform';
import { Controller, Get, type DynamicModule, Module, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ProjectingModule } from '../../api/src/projections/projecting.module';
import { ProjectionStatusService } from '../../api/src/projections/projection-status.service';

@Controller('health')
export class ProjectorHealthController {
  constructor(private readonly projections: ProjectionStatusService) {}

  /**
   * Leader or standby, and each projection's checkpoint and lag. 503 only when a projection this
   * process runs has stopped on an error; a standby is healthy.
   */
  @Get()
  async health(@Res({ passthrough: true }) reply: FastifyReply) {
    const leadership = this.projections.leadership();
    const projections = await this.projections.statuses();
    const failed = leadership?.role === 'leader' && projections.some((status) => status.error !== undefined);
    void reply.status(failed ? 503 : 200);
    return { status: failed ? 'failing' : 'ok', role: leadership?.role, lease: leadership, projections };
  }

  @Get('live')
  liveness() {
    return { status: 'ok' };
  }
}

/** The projector process: every projection, under the `projector` lease, with health and metrics. */
@Module({})
export class ProjectorModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ProjectorModule,
      imports: [ProjectingModule.forRoot(config)],
      controllers: [ProjectorHealthController],
    };
  }
}
