import type { FastifyReply } from 'fastify';
import type { ProjectionStatusService } from './projection-status.service';

/** How far a read model is behind the event store; every answer read from a projection carries it. */
export interface ProjectionLag {
  /** The last event position the read model includes, `commit/prepare`; null before the first event. */
  readonly position: string | null;
  /** Events in the store the read model does not include yet. */
  readonly lagEvents: number;
  /** Age of the oldest event the read model does not include yet, in ms. */
  readonly lagMs: number;
  readonly caughtUp: boolean;
}

/** Read before the data, so the answer is at least as fresh as the lag it reports. */
export async function projectionLag(projections: ProjectionStatusService, projection: string): Promise<ProjectionLag> {
  const status = await projections.status(projection);
  return {
    position: status.position,
    lagEvents: status.lagEvents,
    lagMs: status.lagMs,
    caughtUp: status.caughtUp,
  };
}

/** The same facts as headers, so a client can check freshness without parsing the body. */
export function setLagHeaders(reply: FastifyReply, lag: ProjectionLag): void {
  void reply
    .header('x-projection-position', lag.position ?? '')
    .header('x-projection-lag-events', String(lag.lagEvents))
    .header('x-projection-lag-ms', String(lag.lagMs))
    .header('x-projection-caught-up', String(lag.caughtUp));
}
