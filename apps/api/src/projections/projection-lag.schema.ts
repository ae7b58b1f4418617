import { exactObject, integer, nullable } from '../http/answer-schema';

/** ProjectionLag, as every answer read from a projection carries it. */
export const projectionLagSchema = exactObject(
  {
    position: nullable({ type: 'string', description: 'The last event position the read model includes, `commit/prepare`' }),
    lagEvents: integer,
    lagMs: integer,
    caughtUp: { type: 'boolean' },
  },
  { description: 'How far the read model behind this answer is from the event store' },
);
