import { outcomes, stages } from '@deals/domain';
import { exactObject, integer, isoTime, nullable, text, uuid } from '../../http/answer-schema';
import { moneySchema } from '../shared/money.schema';

/** DealView: the deal as its own stream has it. */
export const dealViewSchema = exactObject({
  dealId: uuid,
  stage: { type: 'string', enum: [...stages] },
  version: { ...integer, description: "Stream revision of the deal's last event; also sent as ETag" },
  title: text,
  organization: text,
  contact: exactObject({ name: text, email: text }),
  owner: text,
  source: text,
  value: moneySchema,
  capturedAt: isoTime,
  lastActivityAt: { ...isoTime, description: "Business time of the deal's latest event" },
  qualification: nullable(
    exactObject({ budget: { type: 'boolean' }, authority: { type: 'boolean' }, need: { type: 'boolean' }, timeline: { type: 'boolean' }, notes: text }, { optional: ['notes'] }),
  ),
  proposals: integer,
  negotiationRounds: integer,
  outcome: nullable({ type: 'string', enum: [...outcomes] }),
  closeReason: nullable(text),
  closedAt: nullable(isoTime),
  followUps: integer,
  winProbability: nullable({ ...integer, description: "The seller's latest estimate, in percent; null: the stage's default applies" }),
});
