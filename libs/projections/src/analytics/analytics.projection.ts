import type { StoredDealEvent } from '@deals/deal-streams';
import { assertNever, type Money, type OpenStage } from '@deals/domain';
import type { JsonObject, ReadModelChange } from '@deals/read-models';
import type { DocumentReader, DocumentRef, Projection } from '../projection';
import { advanceClock, aggregateChanges, analyticsMeta, analyticsMetaCollection, revisionsMetaId } from './analytics-aggregates';
import type { DealTimeline, StageStint, ValueChange } from './deal-timeline';

/**
 * The cycle-length analytics read model: one timeline per deal (`analytics:deal`), in business
 * time, so that history imported with a backdated occurredAt is measured when it happened, not
 * when it was stored; and, beside it, the deal's share of the figures summed per scope
 * (analytics-aggregates.ts), moved by each event from the share before it to the share after.
 */
export const analyticsProjectionName = 'analytics';
export const analyticsDealCollection = `${analyticsProjectionName}:deal`;

function enter(timeline: DealTimeline, stage: OpenStage, at: number): readonly StageStint[] {
  const current = timeline.stints.at(-1);
  // Re-qualification, a revised proposal, a further round: the same stint goes on.
  if (current?.stage === stage && current.leftAt === null) return timeline.stints;
  return [...leave(timeline.stints, at), { stage, enteredAt: at, leftAt: null }];
}

function leave(stints: readonly StageStint[], at: number): readonly StageStint[] {
  const current = stints.at(-1);
  if (current === undefined || current.leftAt !== null) return stints;
  return [...stints.slice(0, -1), { ...current, leftAt: at }];
}

function withValue(values: readonly ValueChange[], at: number, money: Money | undefined): readonly ValueChange[] {
  if (money === undefined) return values;
  const last = values.at(-1);
  if (last && last.amount === money.amount && last.currency === money.currency) return values;
  return [...values, { at, amount: money.amount, currency: money.currency }];
}

function evolveTimeline(timeline: DealTimeline, stored: StoredDealEvent): DealTimeline | undefined {
  const { event } = stored;
  const at = Date.parse(event.occurredAt);
  const revision = Number(stored.revision);
  switch (event.type) {
    case 'LeadCaptured':
      return undefined;
    case 'Qualified':
      return { ...timeline, stints: enter(timeline, 'qualified', at), revision };
    case 'ProposalSent':
      return { ...timeline, stints: enter(timeline, 'proposal', at), values: withValue(timeline.values, at, event.data.amount), revision };
    case 'Negotiated':
      return { ...timeline, stints: enter(timeline, 'negotiation', at), values: withValue(timeline.values, at, event.data.counterAmount), revision };
    case 'Closed':
      return {
        ...timeline,
        stints: leave(timeline.stints, at),
        outcome: event.data.outcome,
        closedAt: at,
        values: withValue(timeline.values, at, event.data.finalAmount),
        revision,
      };
    case 'FollowedUp':
      return undefined;
    default:
      return assertNever(event);
  }
}

function captured(stored: StoredDealEvent): DealTimeline | undefined {
  const { event } = stored;
  if (event.type !== 'LeadCaptured') return undefined;
  const at = Date.parse(event.occurredAt);
  return {
    dealId: stored.dealId,
    owner: event.data.owner,
    source: event.data.source,
    capturedAt: at,
    stints: [{ stage: 'lead', enteredAt: at, leftAt: null }],
    outcome: null,
    closedAt: null,
    values: [{ at, amount: event.data.estimatedValue.amount, currency: event.data.estimatedValue.currency }],
    revision: Number(stored.revision),
  };
}

const revisionsMeta: DocumentRef = { collection: analyticsMetaCollection, id: revisionsMetaId };

/**
 * The scopes' revisions count from the first change this read model projected with them: from the
 * first event after a rebuild, or after an upgrade from a read model that had none. That event names
 * the generation, so a revision means one state of its scope in every read model that reports both.
 * The same document keeps the projection's clock (AnalyticsMeta).
 */
function metaAfter(stored: StoredDealEvent, documents: DocumentReader): ReadModelChange {
  const meta = analyticsMeta(documents.get(revisionsMeta.collection, revisionsMeta.id)) ?? { generation: stored.eventId };
  const document = advanceClock(meta, Date.parse(stored.event.occurredAt));
  return { kind: 'put', collection: revisionsMeta.collection, id: revisionsMeta.id, document: document as unknown as JsonObject };
}

export const analyticsProjection: Projection = {
  name: analyticsProjectionName,

  // Follow-ups change nothing in a timeline, so they cost not even a read.
  reads(event: StoredDealEvent): readonly DocumentRef[] {
    return event.event.type === 'FollowedUp' ? [] : [{ collection: analyticsDealCollection, id: event.dealId }, revisionsMeta];
  },

  project(stored: StoredDealEvent, documents: DocumentReader): ReadModelChange[] {
    if (stored.event.type === 'FollowedUp') return [];
    const before = documents.get(analyticsDealCollection, stored.dealId) as DealTimeline | undefined;
    // Applied already (a replay): a second stint or value change would be invented history.
    if (before !== undefined && Number(stored.revision) <= before.revision) return [];
    const after = before === undefined ? captured(stored) : evolveTimeline(before, stored);
    if (after === undefined) return [];
    return [
      { kind: 'put', collection: analyticsDealCollection, id: after.dealId, document: after as unknown as JsonObject },
      ...aggregateChanges(before, after),
      metaAfter(stored, documents),
    ];
  },
};
