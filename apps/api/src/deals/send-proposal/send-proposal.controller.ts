import { Body, Controller, Param, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CommandRequest, DealIdPipe } from '../../http/command-context';
import type { CommandContext } from '../execute-deal-command';
import { DealCommandRoute } from '../shared/command-route';
import { type CommandAnswer, DealCommandDispatcher } from '../shared/deal-command-dispatcher';
import { SendProposalRequest } from './send-proposal.request';

@ApiTags('deals')
@Controller('deals')
export class SendProposalController {
  constructor(private readonly dispatcher: DealCommandDispatcher) {}

  @DealCommandRoute('proposals', 'Send a proposal, or a revised one (also during negotiation)')
  send(
    @Param('id', DealIdPipe) dealId: string,
    @Body() body: SendProposalRequest,
    @CommandRequest() context: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CommandAnswer> {
    return this.dispatcher.dispatch(dealId, body.toCommand(), context, reply);
  }
}
