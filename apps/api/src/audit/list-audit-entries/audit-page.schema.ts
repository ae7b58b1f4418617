import { auditTimeFields } from '@deals/projections';
import { exactObject, integer, isoTime, nullable, text, uuid } from '../../http/answer-schema';
import { projectionLagSchema } from '../../projections/projection-lag.schema';

/** One audit entry: the event, who, when and why, and its link in the deal's hash chain (docs/audit.md). */
const auditEntry = exactObject({
  position: { ...text, description: 'Global position in the event store, `commit/prepare`' },
  dealId: uuid,
  version: integer,
  eventId: uuid,
  type: text,
  schemaVersion: integer,
  actor: text,
  occurredAt: isoTime,
  recordedAt: isoTime,
  commandId: text,
  correlationId: text,
  causationId: text,
  data: { type: 'object' },
  previousHash: { ...text, description: "SHA-256, hex; the deal's first entry links to 64 zeros" },
  hash: { ...text, description: 'SHA-256, hex, of the entry as docs/audit.md gives it' },
});

/** AuditPage as JSON (format=json): a page of entries and the projection's lag; CSV and JSON lines exports are described by their media types. */
export const auditPageSchema = exactObject({
  entries: { type: 'array', items: auditEntry },
  nextCursor: nullable(text),
  order: { type: 'string', enum: ['position', ...auditTimeFields] },
  projection: projectionLagSchema,
});
