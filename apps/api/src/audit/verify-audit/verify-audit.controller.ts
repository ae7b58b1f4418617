import { Controller, Get, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorAnswers, guardedAnswers } from '../../http/error-answers';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Roles } from '../../auth/roles';
import { setLagHeaders } from '../../projections/projection-lag';
import { refuseUnexpectedParameters } from '../../http/query-parameters';
import { type AuditVerificationReport, VerifyAuditQuery } from './verify-audit.query';

@ApiTags('audit')
@Controller('audit')
export class VerifyAuditController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get('verify')
  @Roles('auditor')
  @ApiBearerAuth()
  @ApiOperation({
    summary: "Recompute every deal's hash chain from the event store and report the first broken link",
    description:
      'Answers 200 either way: { ok, checkedEvents, checkedDeals, checkedUpTo, unexpectedEntries, firstBrokenLink?: ' +
      '{ dealId, version, eventId, position, expectedHash, storedHash, reason }, projection }. ' +
      'reason is event-altered, entry-altered, entry-missing or broken-link. Reads the whole event store: it takes time on a large one; ' +
      'requests made while a check runs share its answer.',
  })
  @ApiOkResponse({ description: 'The verification report' })
  @ErrorAnswers({ ...guardedAnswers, 400: 'VALIDATION_FAILED: a query parameter was sent (it takes none)', 403: 'FORBIDDEN: the key lacks the auditor role' })
  async verify(@Req() http: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<AuditVerificationReport> {
    // It takes none; refusing them keeps a typo such as ?dealId=… from reading as a check of one deal.
    refuseUnexpectedParameters(http.url, []);
    const report = await this.queryBus.execute(new VerifyAuditQuery());
    setLagHeaders(reply, report.projection);
    return report;
  }
}
