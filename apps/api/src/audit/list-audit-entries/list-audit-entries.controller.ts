import { Readable } from 'node:stream';
import { Clock } from '@deals/platform';
import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { ErrorAnswers, guardedAnswers } from '../../http/error-answers';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Roles } from '../../auth/roles';
import { invalidField } from '../../http/api-error';
import type { AuditFilter } from '@deals/projections';
import { setLagHeaders } from '../../projections/projection-lag';
import { refuseUnexpectedParameters } from '../../http/query-parameters';
import { exportChunks, exportMediaTypes, type ExportFormat } from './audit-export-format';
import { auditPageSchema } from './audit-page.schema';
import { ExportAuditEntriesQuery, ListAuditEntriesQuery } from './list-audit-entries.query';
import { defaultPageSize, ListAuditEntriesRequest } from './list-audit-entries.request';

@ApiTags('audit')
@Controller('audit')
export class ListAuditEntriesController {
  constructor(
    private readonly queryBus: QueryBus,
    private readonly clock: Clock,
  ) {}

  @Get()
  @Roles('auditor')
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Every change to every deal: filter by actor, deal, event type and time; cursor pages, or a CSV / JSON lines download',
    description:
      'format=json answers one page. A page may hold fewer entries than limit, even none, and still have a nextCursor; only nextCursor null ends the set. ' +
      'format=csv or jsonl streams the whole filtered set up to the position in X-Projection-Position.',
  })
  @ApiProduces('application/json', exportMediaTypes.csv, exportMediaTypes.jsonl)
  @ApiOkResponse({
    description: 'A page of audit entries (format=json), or the export',
    content: {
      'application/json': { schema: auditPageSchema },
      [exportMediaTypes.csv]: { schema: { type: 'string', description: 'RFC 4180, one row per entry' } },
      [exportMediaTypes.jsonl]: { schema: { type: 'string', description: 'One entry per line, as entries[] has them' } },
    },
  })
  @ErrorAnswers({ ...guardedAnswers, 400: 'VALIDATION_FAILED: a bad or unknown parameter, or a cursor from another filter', 403: 'FORBIDDEN: the key lacks the auditor role' })
  async list(
    @Query() request: ListAuditEntriesRequest,
    @Req() http: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    refuseUnexpectedParameters(http.url);
    const filter = toFilter(request);
    const format = request.format ?? 'json';
    if (format === 'json') {
      const page = await this.queryBus.execute(new ListAuditEntriesQuery(filter, request.limit ?? defaultPageSize, request.cursor));
      setLagHeaders(reply, page.projection);
      void reply.send(page);
      return;
    }
    for (const field of ['cursor', 'limit'] as const) {
      if (request[field] !== undefined) throw invalidField(field, `${field} applies to format=json; an export streams the whole filtered set`);
    }
    await this.export(filter, format, reply);
  }

  private async export(filter: AuditFilter, format: ExportFormat, reply: FastifyReply): Promise<void> {
    const { entries, projection } = await this.queryBus.execute(new ExportAuditEntriesQuery(filter));
    const stamp = this.clock.now().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    setLagHeaders(reply, projection);
    // Readable.from pulls the next chunk only when the socket has drained the last one (back-pressure);
    // a client that goes away destroys the stream, which ends the generator and its paging.
    const body = Readable.from(exportChunks(entries, format), { objectMode: false, highWaterMark: 64 * 1024 });
    void reply
      .header('content-type', exportMediaTypes[format])
      .header('content-disposition', `attachment; filename="audit-${stamp}.${format}"`)
      .header('cache-control', 'no-store')
      .send(body);
  }
}

function toFilter(request: ListAuditEntriesRequest): AuditFilter {
  if (request.from !== undefined && request.to !== undefined && Date.parse(request.from) >= Date.parse(request.to)) {
    throw invalidField('to', 'to must be later than from');
  }
  return {
    ...(request.actor === undefined ? {} : { actor: request.actor }),
    ...(request.dealId === undefined ? {} : { dealId: request.dealId }),
    ...(request.type === undefined ? {} : { type: request.type }),
    ...(request.from === undefined ? {} : { from: request.from }),
    ...(request.to === undefined ? {} : { to: request.to }),
    ...(request.timeField === undefined ? {} : { timeField: request.timeField }),
  };
}
