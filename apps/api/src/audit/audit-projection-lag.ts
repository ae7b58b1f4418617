import { formatPosition, type Position } from '@deals/event-store';
import type { FastifyReply } from 'fastify';
import { ProjectionStatusService } from '../projections/projection-status.service';
import { auditProjectionName } from './audit-library';

/** How far the audit log is behind the event store, as every audit answer reports it. */
export interface AuditProjectionLag {
  /** The last event position the log includes, `commit/prepare`; null before the first event. */
  readonly position: string | null;
  /** Events in the store the log does not include yet. */
  readonly lagEvents: number;
  /** Age of the oldest event the log does not include yet, in ms. */
  readonly lagMs: number;
  readonly caughtUp: boolean;
}

export async function auditProjectionLag(projections: ProjectionStatusService): Promise<AuditProjectionLag> {
  const status = await projections.status(auditProjectionName);
  return {
    position: positionText(status.position),
    lagEvents: status.lagEvents,
    lagMs: status.lagMs,
    caughtUp: status.caughtUp,
  };
}

function positionText(position: Position | string | null | undefined): string | null {
  if (position === null || position === undefined) return null;
  return typeof position === 'string' ? position : formatPosition(position);
}

/** The same facts as headers, for answers whose body is a download. */
export function setLagHeaders(reply: FastifyReply, lag: AuditProjectionLag): void {
  void reply
    .header('x-projection-position', lag.position ?? '')
    .header('x-projection-lag-events', String(lag.lagEvents))
    .header('x-projection-lag-ms', String(lag.lagMs))
    .header('x-projection-caught-up', String(lag.caughtUp));
}
