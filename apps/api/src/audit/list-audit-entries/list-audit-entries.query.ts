import { formatPosition, type Position } from '@deals/event-store';
import type { ReadModelStore } from '@deals/read-models';
import { Inject } from '@nestjs/common';
import { type IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { invalidField } from '../../http/api-error';
import { READ_MODEL_STORE } from '../../infrastructure/tokens';
import { ProjectionStatusService } from '../../projections/projection-status.service';
import {
  type AuditEntry,
  type AuditFilter,
  type AuditOrder,
  auditProjectionName,
  exportAuditLog,
  InvalidAuditCursorError,
  queryAuditLog,
} from '@deals/projections';
import { type ProjectionLag, projectionLag } from '../../projections/projection-lag';

export interface AuditEntriesPage {
  readonly entries: readonly AuditEntry[];
  readonly nextCursor: string | null;
  /** position (commit order), or the time field whose index a time range walked. */
  readonly order: AuditOrder;
  readonly projection: ProjectionLag;
}

export class ListAuditEntriesQuery extends Query<AuditEntriesPage> {
  constructor(
    readonly filter: AuditFilter,
    readonly limit: number,
    readonly cursor: string | undefined,
  ) {
    super();
  }
}

/** One page of the global audit log, with how far the log is behind the event store. */
@QueryHandler(ListAuditEntriesQuery)
export class ListAuditEntriesHandler implements IQueryHandler<ListAuditEntriesQuery, AuditEntriesPage> {
  constructor(
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    private readonly projections: ProjectionStatusService,
  ) {}

  async execute({ filter, limit, cursor }: ListAuditEntriesQuery): Promise<AuditEntriesPage> {
    // Lag first: the page then includes at least what the lag says it does.
    const projection = await projectionLag(this.projections, auditProjectionName);
    try {
      const page = await queryAuditLog(this.readModels, { filter, limit, ...(cursor === undefined ? {} : { cursor }) });
      return { ...page, projection };
    } catch (error) {
      if (error instanceof InvalidAuditCursorError) {
        throw invalidField('cursor', error.message);
      }
      throw error;
    }
  }
}

export interface AuditExport {
  /** Pulled by the HTTP layer as the client reads; nothing is read ahead. */
  readonly entries: AsyncGenerator<AuditEntry, void, undefined>;
  readonly projection: ProjectionLag;
}

export class ExportAuditEntriesQuery extends Query<AuditExport> {
  constructor(readonly filter: AuditFilter) {
    super();
  }
}

/**
 * The whole filtered log as a lazy sequence. It stops at the position the log had reached when the
 * export began, so a busy service cannot keep a download growing, and the lag headers describe it.
 */
@QueryHandler(ExportAuditEntriesQuery)
export class ExportAuditEntriesHandler implements IQueryHandler<ExportAuditEntriesQuery, AuditExport> {
  constructor(
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    private readonly projections: ProjectionStatusService,
  ) {}

  async execute({ filter }: ExportAuditEntriesQuery): Promise<AuditExport> {
    const checkpoint = await this.readModels.checkpoint(auditProjectionName);
    const projection = await projectionLag(this.projections, auditProjectionName);
    const upTo: Position = checkpoint?.position ?? { commit: 0n, prepare: 0n };
    return {
      entries: exportAuditLog(this.readModels, filter, { upTo }),
      // The position reported is exactly where the export stops.
      projection: { ...projection, position: checkpoint ? formatPosition(checkpoint.position) : null },
    };
  }
}
