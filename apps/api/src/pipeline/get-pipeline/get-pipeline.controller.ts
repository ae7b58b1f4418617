import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorAnswers, guardedAnswers } from '../../http/error-answers';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Roles } from '../../auth/roles';
import { refuseUnexpectedParameters } from '../../http/query-parameters';
import { writeRemembered } from '../../http/remembered-json';
import { setLagHeaders } from '../../projections/projection-lag';
import { GetPipelineQuery, type PipelineAnswer } from './get-pipeline.query';
import { pipelineSchema } from './pipeline.schema';
import { defaultPipelineLimit, GetPipelineRequest, pipelineQueryKeys } from './get-pipeline.request';

@ApiTags('pipeline')
@Controller('pipeline')
export class GetPipelineController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get()
  @Roles('analyst', 'sales')
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Per stage: count, total and weighted value per currency; the deals, a page at a time; rotting deals',
    description:
      'Weighted value = amount × the deal’s own win probability while open, else the stage’s configured probability. ' +
      'The list runs by stage, then least recent activity first; only nextCursor null ends it. See docs/analytics.md.',
  })
  @ApiOkResponse({ description: 'The pipeline', schema: pipelineSchema })
  @ErrorAnswers({ ...guardedAnswers, 400: 'VALIDATION_FAILED: a bad or unknown parameter, or a cursor issued for other filters', 403: 'FORBIDDEN: the key has neither the sales nor the analyst role' })
  async get(
    @Query() request: GetPipelineRequest,
    @Req() raw: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PipelineAnswer> {
    refuseUnexpectedParameters(raw.url, pipelineQueryKeys);
    const answer = await this.queryBus.execute(
      new GetPipelineQuery({
        owner: request.owner,
        source: request.source,
        stage: request.stage,
        rotting: request.rotting,
        limit: request.limit ?? defaultPipelineLimit,
        cursor: request.cursor,
      }),
    );
    setLagHeaders(reply, answer.projection);
    writeRemembered(reply);
    return answer;
  }
}
