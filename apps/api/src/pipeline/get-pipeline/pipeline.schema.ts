import { stages } from '@deals/domain';
import type { SchemaObject } from '@nestjs/swagger';
import { byCurrency, exactObject, integer, isoTime, nullable, number, text, uuid } from '../../http/answer-schema';
import { projectionLagSchema } from '../../projections/projection-lag.schema';
import { moneySchema } from '../../deals/shared/money.schema';

const stage: SchemaObject = { type: 'string', enum: [...stages] };
const amounts = byCurrency(number);

/** PipelineAnswer: the stages' counts and values, the open stages added up, a page of deals, and the projection's lag. */
export const pipelineSchema = exactObject({
  now: { ...isoTime, description: 'The instant rotting was judged against' },
  filters: exactObject({ owner: nullable(text), source: nullable(text), stage: nullable(stage), rotting: { type: 'boolean' } }),
  stages: {
    type: 'array',
    items: exactObject({
      stage,
      count: integer,
      totalValue: amounts,
      weightedValue: amounts,
      probability: { ...number, description: "The stage's default probability, 0 to 1" },
      rotting: nullable(exactObject({ limitDays: number, count: integer })),
    }),
  },
  open: exactObject({ count: integer, totalValue: amounts, weightedValue: amounts }),
  deals: exactObject({
    items: {
      type: 'array',
      items: exactObject({
        dealId: uuid,
        title: text,
        organization: text,
        owner: text,
        source: text,
        stage,
        value: moneySchema,
        winProbability: nullable({ ...integer, description: "The seller's own estimate, 0 to 100" }),
        capturedAt: isoTime,
        lastActivityAt: isoTime,
        probability: { ...number, description: "The probability applied, 0 to 1: the own estimate while open, else the stage's" },
        weightedValue: number,
        rotting: { type: 'boolean' },
      }),
    },
    nextCursor: nullable(text),
  }),
  projection: projectionLagSchema,
});
