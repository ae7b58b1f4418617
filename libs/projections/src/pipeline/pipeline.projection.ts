import type { StoredDealEvent } from '@deals/deal-streams';
import { assertNever, isOpen, type Money, type Stage } from '@deals/domain';
import type { JsonObject, ReadModelChange } from '@deals/read-models';
import type { DocumentReader, DocumentRef, Projection } from '../projection';

/**
 * The pipeline read model: where every deal stands now, with totals precomputed so that
 * GET /pipeline never scans deals.
 *
 * - `pipeline:deal` — one document per deal (stage, value, own win probability, last activity).
 * - `pipeline:totals[:owner:<o>][:source:<s>]` — counter hashes per filter scope, with fields
 *   per stage and currency: `n` (deals), `amount` (total value), `plain` (value of deals without
 *   an own probability) and `own` (Σ value × own probability). Weighted value is
 *   `plain × stageProbability + own`, so stage probabilities stay configurable at query time.
 * - `pipeline:activity:<stage>[:owner:<o>][:source:<s>]` — sorted indexes of deal ids by last
 *   activity (epoch ms of business time): keyset listing, and rotting = range(max = now − limit).
 *
 * Owner and source never change after capture (there is no reassignment event), so a deal stays
 * in the same four scopes for life.
 */
export const pipelineProjectionName = 'pipeline';
export const pipelineDealCollection = `${pipelineProjectionName}:deal`;

export interface PipelineDealDocument {
  readonly dealId: string;
  readonly title: string;
  readonly organization: string;
  readonly owner: string;
  readonly source: string;
  readonly stage: Stage;
  /** The latest figure, as in the domain. */
  readonly value: Money;
  /** The seller's own latest win probability (0–100), or null; counts only while the deal is open. */
  readonly winProbability: number | null;
  readonly capturedAt: string;
  /** Business time of the deal's latest event. */
  readonly lastActivityAt: string;
  /** Stream revision of the latest event applied: an event at or below it was already counted. */
  readonly revision: number;
}

export interface PipelineScope {
  readonly owner?: string | undefined;
  readonly source?: string | undefined;
}

export type TotalsMeasure = 'n' | 'amount' | 'plain' | 'own';

// Owner and source are free text; encoding them keeps `:` in a name unambiguous.
function scopeSuffix({ owner, source }: PipelineScope): string {
  return `${owner === undefined ? '' : `:owner:${encodeURIComponent(owner)}`}${source === undefined ? '' : `:source:${encodeURIComponent(source)}`}`;
}

export function totalsCounter(scope: PipelineScope): string {
  return `${pipelineProjectionName}:totals${scopeSuffix(scope)}`;
}

export function activityIndex(stage: Stage, scope: PipelineScope): string {
  return `${pipelineProjectionName}:activity:${stage}${scopeSuffix(scope)}`;
}

export function totalsField(measure: TotalsMeasure, stage: Stage, currency: string): string {
  return `${measure}:${stage}:${currency}`;
}

/** The four scopes a deal is counted and indexed in: all deals, its owner, its source, both. */
function scopesOf(deal: PipelineDealDocument): PipelineScope[] {
  return [{}, { owner: deal.owner }, { source: deal.source }, { owner: deal.owner, source: deal.source }];
}

/** What one deal adds to a totals hash. The own probability counts only while the deal is open. */
function contribution(deal: PipelineDealDocument): Map<string, number> {
  const { stage } = deal;
  const { amount, currency } = deal.value;
  const fields = new Map<string, number>([
    [totalsField('n', stage, currency), 1],
    [totalsField('amount', stage, currency), amount],
  ]);
  if (isOpen(stage) && deal.winProbability !== null) {
    fields.set(totalsField('own', stage, currency), (amount * deal.winProbability) / 100);
  } else {
    fields.set(totalsField('plain', stage, currency), amount);
  }
  return fields;
}

/** Field deltas from one contribution to the next; unchanged fields produce nothing. */
function difference(before: Map<string, number> | undefined, after: Map<string, number>): Array<[string, number]> {
  const deltas = new Map<string, number>();
  for (const [field, value] of before ?? []) deltas.set(field, -value);
  for (const [field, value] of after) deltas.set(field, (deltas.get(field) ?? 0) + value);
  return [...deltas].filter(([, delta]) => delta !== 0);
}

function evolveDocument(deal: PipelineDealDocument, stored: StoredDealEvent): PipelineDealDocument {
  const { event } = stored;
  const next = { ...deal, lastActivityAt: event.occurredAt, revision: Number(stored.revision) };
  switch (event.type) {
    case 'LeadCaptured':
      return next;
    case 'Qualified':
      return { ...next, stage: 'qualified' };
    case 'ProposalSent':
      return { ...next, stage: 'proposal', value: event.data.amount, winProbability: event.data.winProbability ?? deal.winProbability };
    case 'Negotiated':
      return {
        ...next,
        stage: 'negotiation',
        value: event.data.counterAmount ?? deal.value,
        winProbability: event.data.winProbability ?? deal.winProbability,
      };
    case 'Closed':
      return { ...next, stage: event.data.outcome, value: event.data.finalAmount ?? deal.value };
    case 'FollowedUp':
      return next;
    default:
      return assertNever(event);
  }
}

function captured(stored: StoredDealEvent): PipelineDealDocument | undefined {
  const { event } = stored;
  if (event.type !== 'LeadCaptured') return undefined;
  const { data } = event;
  return {
    dealId: stored.dealId,
    title: data.title,
    organization: data.organization,
    owner: data.owner,
    source: data.source,
    stage: 'lead',
    value: data.estimatedValue,
    winProbability: null,
    capturedAt: event.occurredAt,
    lastActivityAt: event.occurredAt,
    revision: Number(stored.revision),
  };
}

export const pipelineProjection: Projection = {
  name: pipelineProjectionName,

  reads(event: StoredDealEvent): readonly DocumentRef[] {
    return [{ collection: pipelineDealCollection, id: event.dealId }];
  },

  project(stored: StoredDealEvent, documents: DocumentReader): ReadModelChange[] {
    const before = documents.get(pipelineDealCollection, stored.dealId) as PipelineDealDocument | undefined;
    // Applied already (a replay): counting it again would double the totals.
    if (before !== undefined && Number(stored.revision) <= before.revision) return [];
    const after = before === undefined ? captured(stored) : evolveDocument(before, stored);
    // An event of a deal whose capture was never seen has nothing to attach to.
    if (after === undefined) return [];

    const changes: ReadModelChange[] = [
      { kind: 'put', collection: pipelineDealCollection, id: after.dealId, document: after as unknown as JsonObject },
    ];
    const deltas = difference(before && contribution(before), contribution(after));
    const score = Date.parse(after.lastActivityAt);
    for (const scope of scopesOf(after)) {
      const counter = totalsCounter(scope);
      for (const [field, by] of deltas) changes.push({ kind: 'increment', counter, field, by });
      if (before !== undefined && before.stage !== after.stage) {
        changes.push({ kind: 'unindex', index: activityIndex(before.stage, scope), member: after.dealId });
      }
      changes.push({ kind: 'index', index: activityIndex(after.stage, scope), member: after.dealId, score });
    }
    return changes;
  },
};
