import type { EventStore } from '@deals/event-store';
import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/roles';
import { EVENT_STORE } from '../infrastructure/tokens';

@ApiTags('operations')
@Controller('health')
@Public()
export class HealthController {
  constructor(@Inject(EVENT_STORE) private readonly eventStore: EventStore) {}

  @Get()
  @ApiOperation({ summary: 'Readiness: the service can read its event store' })
  @ApiOkResponse({ description: '{ status: "ok", checks }' })
  @ApiServiceUnavailableResponse({ description: '{ status: "unavailable", checks }' })
  async readiness(@Res({ passthrough: true }) reply: FastifyReply) {
    let eventStore: 'up' | 'down' = 'up';
    try {
      for await (const _ of this.eventStore.readAll({ direction: 'backwards', maxCount: 1 })) break;
    } catch {
      eventStore = 'down';
    }
    const ready = eventStore === 'up';
    void reply.status(ready ? 200 : 503);
    return { status: ready ? 'ok' : 'unavailable', checks: { eventStore } };
  }

  @Get('live')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: the process answers' })
  liveness() {
    return { status: 'ok' };
  }
}
