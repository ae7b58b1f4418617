import { Body, Controller, Param, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CommandRequest, DealIdPipe } from '../../http/command-context';
import type { CommandContext } from '../execute-deal-command';
import { DealCommandRoute } from '../shared/command-route';
import { type CommandAnswer, DealCommandDispatcher } from '../shared/deal-command-dispatcher';
import { RecordFollowUpRequest } from './record-follow-up.request';

@ApiTags('deals')
@Controller('deals')
export class RecordFollowUpController {
  constructor(private readonly dispatcher: DealCommandDispatcher) {}

  @DealCommandRoute('follow-ups', 'Record a follow-up after the deal is closed; the stage stays')
  followUp(
    @Param('id', DealIdPipe) dealId: string,
    @Body() body: RecordFollowUpRequest,
    @CommandRequest() context: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CommandAnswer> {
    return this.dispatcher.dispatch(dealId, body.toCommand(), context, reply);
  }
}
