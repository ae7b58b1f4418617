import { Body, Controller, Param, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CommandRequest, DealIdPipe } from '../../http/command-context';
import type { CommandContext } from '../execute-deal-command';
import { DealCommandRoute } from '../shared/command-route';
import { type CommandAnswer, DealCommandDispatcher } from '../shared/deal-command-dispatcher';
import { NegotiateDealRequest } from './negotiate-deal.request';

@ApiTags('deals')
@Controller('deals')
export class NegotiateDealController {
  constructor(private readonly dispatcher: DealCommandDispatcher) {}

  @DealCommandRoute('negotiations', 'Record one round of negotiation; a counter amount becomes the deal value')
  negotiate(
    @Param('id', DealIdPipe) dealId: string,
    @Body() body: NegotiateDealRequest,
    @CommandRequest() context: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CommandAnswer> {
    return this.dispatcher.dispatch(dealId, body.toCommand(), context, reply);
  }
}
