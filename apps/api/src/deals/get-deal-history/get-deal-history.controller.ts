import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Roles } from '../../auth/roles';
import { DealIdPipe } from '../../http/command-context';
import { dealIdAnswers, ErrorAnswers, guardedAnswers } from '../../http/error-answers';
import { refuseUnexpectedParameters } from '../../http/query-parameters';
import { dealNotFound } from '../get-deal/get-deal.controller';
import { dealHistorySchema } from './deal-history.schema';
import { type DealHistory, GetDealHistoryQuery } from './get-deal-history.query';

@ApiTags('deals')
@Controller('deals')
export class GetDealHistoryController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get(':id/history')
  @Roles('sales', 'auditor')
  @ApiBearerAuth()
  @ApiOperation({ summary: "The deal's audit history: every change with who, when and from which request, oldest first" })
  @ApiOkResponse({ description: 'The history; the last version is also in ETag', schema: dealHistorySchema })
  @ErrorAnswers({ ...guardedAnswers, ...dealIdAnswers, 400: 'VALIDATION_FAILED: the id is not a UUID, or a query parameter was sent (it takes none)' })
  async history(
    @Param('id', DealIdPipe) dealId: string,
    @Req() http: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DealHistory> {
    // It takes none (the whole history, always); refusing them keeps ?limit=… from reading as a page.
    refuseUnexpectedParameters(http.url, []);
    const history = await this.queryBus.execute(new GetDealHistoryQuery(dealId));
    if (!history) throw dealNotFound(dealId);
    const last = history.entries.at(-1);
    if (last) void reply.header('etag', `"${last.version}"`);
    return history;
  }
}
