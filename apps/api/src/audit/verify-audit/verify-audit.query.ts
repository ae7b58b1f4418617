import type { EventStore } from '@deals/event-store';
import type { ReadModelStore } from '@deals/read-models';
import { Inject } from '@nestjs/common';
import { type IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { EVENT_STORE, READ_MODEL_STORE } from '../../infrastructure/tokens';
import { ProjectionStatusService } from '../../projections/projection-status.service';
import { type AuditVerification, auditProjectionName, verifyAuditChains } from '@deals/projections';
import { type ProjectionLag, projectionLag } from '../../projections/projection-lag';

export type AuditVerificationReport = AuditVerification & { readonly projection: ProjectionLag };

export class VerifyAuditQuery extends Query<AuditVerificationReport> {}

/** Recomputes every deal's hash chain from the event store and compares it with the audit log. */
@QueryHandler(VerifyAuditQuery)
export class VerifyAuditHandler implements IQueryHandler<VerifyAuditQuery, AuditVerificationReport> {
  constructor(
    @Inject(EVENT_STORE) private readonly eventStore: EventStore,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    private readonly projections: ProjectionStatusService,
  ) {}

  /** One check at a time: callers who ask while one runs share its answer instead of reading the store again. */
  private running: Promise<AuditVerification> | undefined;

  async execute(): Promise<AuditVerificationReport> {
    this.running ??= verifyAuditChains(this.eventStore, this.readModels).finally(() => {
      this.running = undefined;
    });
    const verification = await this.running;
    return { ...verification, projection: await projectionLag(this.projections, auditProjectionName) };
  }
}
