import { Body, Controller, Param, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CommandRequest, DealIdPipe } from '../../http/command-context';
import type { CommandContext } from '../execute-deal-command';
import { DealCommandRoute } from '../shared/command-route';
import { type CommandAnswer, DealCommandDispatcher } from '../shared/deal-command-dispatcher';
import { CloseDealRequest } from './close-deal.request';

@ApiTags('deals')
@Controller('deals')
export class CloseDealController {
  constructor(private readonly dispatcher: DealCommandDispatcher) {}

  @DealCommandRoute('closing', 'Close the deal as won (from a proposal) or lost (from any open stage)')
  close(
    @Param('id', DealIdPipe) dealId: string,
    @Body() body: CloseDealRequest,
    @CommandRequest() context: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CommandAnswer> {
    return this.dispatcher.dispatch(dealId, body.toCommand(), context, reply);
  }
}
