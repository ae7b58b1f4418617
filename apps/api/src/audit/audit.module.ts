import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ExportAuditEntriesHandler, ListAuditEntriesHandler } from './list-audit-entries/list-audit-entries.query';
import { ListAuditEntriesController } from './list-audit-entries/list-audit-entries.controller';
import { VerifyAuditController } from './verify-audit/verify-audit.controller';
import { VerifyAuditHandler } from './verify-audit/verify-audit.query';

/** GET /audit and GET /audit/verify, for auditors. The projection itself runs with the others (projections module). */
@Module({
  imports: [CqrsModule],
  controllers: [VerifyAuditController, ListAuditEntriesController],
  providers: [ListAuditEntriesHandler, ExportAuditEntriesHandler, VerifyAuditHandler],
})
export class AuditModule {}
