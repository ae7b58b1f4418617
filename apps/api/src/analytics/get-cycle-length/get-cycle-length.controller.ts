import { Clock } from '@deals/platform';
import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorAnswers, guardedAnswers } from '../../http/error-answers';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Roles } from '../../auth/roles';
import { invalidField } from '../../http/api-error';
import { refuseUnexpectedParameters } from '../../http/query-parameters';
import { writeRemembered } from '../../http/remembered-json';
import { setLagHeaders } from '../../projections/projection-lag';
import type { CycleLengthRequest } from '@deals/projections';
import { cycleLengthSchema } from './cycle-length.schema';
import { type CycleLengthAnswer, GetCycleLengthQuery } from './get-cycle-length.query';
import { cycleLengthQueryKeys, GetCycleLengthRequest } from './get-cycle-length.request';

@ApiTags('analytics')
@Controller('analytics')
export class GetCycleLengthController {
  constructor(
    private readonly queryBus: QueryBus,
    private readonly clock: Clock,
  ) {}

  @Get('cycle-length')
  @Roles('analyst', 'sales')
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Cycle length, time in stage, conversion, win rate and sales velocity, in business time; cohort or period; as of any date',
    description: 'Every definition is in docs/analytics.md.',
  })
  @ApiOkResponse({ description: 'The figures', schema: cycleLengthSchema })
  @ErrorAnswers({ ...guardedAnswers, 400: 'VALIDATION_FAILED: a bad or unknown parameter, to not after from, or asOf in the future', 403: 'FORBIDDEN: the key has neither the sales nor the analyst role' })
  async get(
    @Query() request: GetCycleLengthRequest,
    @Req() raw: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CycleLengthAnswer> {
    refuseUnexpectedParameters(raw.url, cycleLengthQueryKeys);
    const answer = await this.queryBus.execute(new GetCycleLengthQuery(this.toRequest(request)));
    setLagHeaders(reply, answer.projection);
    writeRemembered(reply);
    return answer;
  }

  private toRequest({ basis = 'cohort', groupBy, from, to, asOf }: GetCycleLengthRequest): CycleLengthRequest {
    const fromDate = from === undefined ? undefined : new Date(from);
    const toDate = to === undefined ? undefined : new Date(to);
    const asOfDate = asOf === undefined ? undefined : new Date(asOf);
    if (fromDate && toDate && fromDate.getTime() >= toDate.getTime()) throw invalidField('to', 'to must be later than from');
    // The future has no numbers yet; answering as if it had would look like a forecast.
    if (asOfDate && asOfDate.getTime() > this.clock.now().getTime()) throw invalidField('asOf', 'asOf must not lie in the future');
    return { basis, groupBy, from: fromDate, to: toDate, asOf: asOfDate };
  }
}
