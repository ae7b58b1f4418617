import { Body, Controller, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Roles } from '../../auth/roles';
import { CommandRequest } from '../../http/command-context';
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
  @ApiCreatedResponse({ type: CommandAnswerResponse })
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
