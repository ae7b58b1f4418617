import { Body, Controller, Param, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CommandRequest, DealIdPipe } from '../../http/command-context';
import type { CommandContext } from '../execute-deal-command';
import { DealCommandRoute } from '../shared/command-route';
import { type CommandAnswer, DealCommandDispatcher } from '../shared/deal-command-dispatcher';
import { QualifyDealRequest } from './qualify-deal.request';

@ApiTags('deals')
@Controller('deals')
export class QualifyDealController {
  constructor(private readonly dispatcher: DealCommandDispatcher) {}

  @DealCommandRoute('qualification', 'Qualify the deal (BANT); allowed before a proposal')
  qualify(
    @Param('id', DealIdPipe) dealId: string,
    @Body() body: QualifyDealRequest,
    @CommandRequest() context: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CommandAnswer> {
    return this.dispatcher.dispatch(dealId, body.toCommand(), context, reply);
  }
}
