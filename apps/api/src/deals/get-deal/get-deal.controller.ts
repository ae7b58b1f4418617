import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Roles } from '../../auth/roles';
import { ApiError } from '../../http/api-error';
import { DealIdPipe } from '../../http/command-context';
import { dealIdAnswers, ErrorAnswers, guardedAnswers } from '../../http/error-answers';
import { refuseUnexpectedParameters } from '../../http/query-parameters';
import { dealViewSchema } from './deal-view.schema';
import { type DealView, GetDealQuery } from './get-deal.query';

@ApiTags('deals')
@Controller('deals')
export class GetDealController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get(':id')
  @Roles('sales', 'auditor', 'analyst')
  @ApiBearerAuth()
  @ApiOperation({ summary: "The deal's current state; its version is also sent as ETag" })
  @ApiOkResponse({ description: 'The deal; its version is also in ETag', schema: dealViewSchema })
  @ErrorAnswers({ ...guardedAnswers, ...dealIdAnswers, 400: 'VALIDATION_FAILED: the id is not a UUID, or a query parameter was sent (it takes none)' })
  async get(@Param('id', DealIdPipe) dealId: string, @Req() http: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<DealView> {
    // It takes none; refusing them keeps a typo such as ?version=3 from reading as a look at another version.
    refuseUnexpectedParameters(http.url, []);
    const deal = await this.queryBus.execute(new GetDealQuery(dealId));
    if (!deal) throw dealNotFound(dealId);
    void reply.header('etag', `"${deal.version}"`);
    return deal;
  }
}

export function dealNotFound(dealId: string): ApiError {
  return new ApiError(404, 'DEAL_NOT_FOUND', 'No deal with this id has been captured', { dealId });
}
