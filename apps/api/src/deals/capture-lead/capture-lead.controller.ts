import { Body, Controller, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Roles } from '../../auth/roles';
import { CommandRequest } from '../../http/command-context';
import { commandAnswers, ErrorAnswers } from '../../http/error-answers';
import type { CommandContext } from '../execute-deal-command';
import { CommandAnswerResponse } from '../shared/command-answer.response';
import { idempotencyKeyHeader } from '../shared/command-route';
import { type CommandAnswer, DealCommandDispatcher } from '../shared/deal-command-dispatcher';
import { CaptureLeadRequest } from './capture-lead.request';

@ApiTags('deals')
@Controller('deals')
export class CaptureLeadController {
  constructor(private readonly dispatcher: DealCommandDispatcher) {}

  @Post()
  @Roles('sales')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Capture a lead: starts a new deal at stage lead' })
  @idempotencyKeyHeader
  @ApiHeader({ name: 'If-Match', required: false, description: 'A new deal has no version: any If-Match but * gets 409 VERSION_CONFLICT' })
  @ApiCreatedResponse({
    type: CommandAnswerResponse,
    description: 'Captured (or, with Idempotency-Key, answered again: Idempotent-Replayed: true); Location names the deal, ETag its version',
  })
  @ErrorAnswers({ ...commandAnswers, 409: 'VERSION_CONFLICT: an If-Match was sent' })
  async capture(
    @Body() body: CaptureLeadRequest,
    @CommandRequest() context: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CommandAnswer> {
    const answer = await this.dispatcher.dispatch(undefined, body.toCommand(), context, reply);
    void reply.header('location', `/deals/${answer.dealId}`);
    return answer;
  }
}
