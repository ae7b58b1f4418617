import { exactObject, integer, isoTime, text, uuid } from '../../http/answer-schema';

/** DealHistory: every event of the deal's stream, oldest first. */
export const dealHistorySchema = exactObject({
  dealId: uuid,
  entries: {
    type: 'array',
    items: exactObject({
      version: integer,
      eventId: uuid,
      type: { type: 'string', example: 'Qualified' },
      schemaVersion: integer,
      occurredAt: { ...isoTime, description: 'Business time: when it happened' },
      recordedAt: { ...isoTime, description: 'When the service stored it' },
      actor: { ...text, description: 'Who sent the command, from the API key' },
      commandId: text,
      correlationId: text,
      causationId: text,
      data: { type: 'object', description: "The event's payload, as the event list in docs/domain.md gives it for its type" },
    }),
  },
});
