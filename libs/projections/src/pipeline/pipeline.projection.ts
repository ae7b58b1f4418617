import type { StoredDealEvent } from '@deals/deal-streams';
import { assertNever, isOpen, type Money, type Stage, stages } from '@deals/domain';
import type { JsonObject, ReadModelChange } from '@deals/read-models';
import type { DocumentReader, DocumentRef, Projection } from '../projection';

/**
 * The pipeline read model: where every deal stands now, with totals precomputed so that
 * GET /pipeline never scans deals.
 *
 * - `pipeline:deal` — one document per deal (stage, value, own win probability, last activity).
 * - `pipeline:totals[:owner:<o>][:source:<s>]` — counter hashes per filter scope, with fields
 *   `<measure>:<stage>:<currency>`: `n` (deals), `amount` (total value), and for deals with an own
 *   win probability `ownAmount` (their value) and `ownWeighted` (Σ value × own probability).
 *   Weighted value is `(amount − ownAmount) × stageProbability + ownWeighted`, so stage
 *   probabilities stay configurable at query time.
 * - `pipeline:activity[:owner:<o>][:source:<s>]` — one sorted index per scope of deal ids, scored
 *   `stageRank × 10¹⁴ + last activity` (epoch ms of business time): each stage is a contiguous
 *   score band ordered by last activity, so listing a stage, paging, and rotting
 *   (band start … now − limit) are ranges, and a stage change is one re-score, not a move.
 *
 * Owner and source never change after capture (there is no reassignment event), so a deal stays
 * in the same scopes for life: all deals, its owner, its source, and owner and source together.
 * Per event: one document, one index re-score per scope, and counter deltas only for the fields
 * that changed. A read model built before owner-and-source had totals lacks them (or holds only
 * what changed since): the query sees that their deal count falls short of the pair's index and
 * adds up the pair's deals from the index instead (pipeline.query.ts).
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

export type TotalsMeasure = 'n' | 'amount' | 'ownAmount' | 'ownWeighted';

/** Width of one stage's score band; epoch ms stay below it until the year 5138. */
export const stageBand = 1e14;

export function stageRank(stage: Stage): number {
  return stages.indexOf(stage);
}

/** The activity index score: stage band plus epoch ms. Integers below 2⁵³, so exact as doubles. */
export function activityScore(stage: Stage, activityMs: number): number {
  return stageRank(stage) * stageBand + activityMs;
}

export function stageOfScore(score: number): Stage | undefined {
  return stages[Math.floor(score / stageBand)];
}

// Owner and source are free text; encoding them keeps `:` in a name unambiguous.
function scopeSuffix({ owner, source }: PipelineScope): string {
  return `${owner === undefined ? '' : `:owner:${encodeURIComponent(owner)}`}${source === undefined ? '' : `:source:${encodeURIComponent(source)}`}`;
}

export function totalsCounter(scope: PipelineScope): string {
  return `${pipelineProjectionName}:totals${scopeSuffix(scope)}`;
}

export function activityIndex(scope: PipelineScope): string {
  return `${pipelineProjectionName}:activity${scopeSuffix(scope)}`;
}

export function totalsField(measure: TotalsMeasure, stage: Stage, currency: string): string {
  return `${measure}:${stage}:${currency}`;
}

/** Counter and index names of a deal's scopes: all deals, its owner, its source, both. */
function scopeNamesOf(deal: PipelineDealDocument): Array<{ readonly counter: string; readonly index: string }> {
  const owner = { owner: deal.owner };
  const source = { source: deal.source };
  return [{}, owner, source, { ...owner, ...source }].map((scope) => ({ counter: totalsCounter(scope), index: activityIndex(scope) }));
}

type Contribution = Array<[field: string, value: number]>;

/** What one deal adds to a totals hash. The own probability counts only while the deal is open. */
export function contribution(deal: PipelineDealDocument): Contribution {
  const { stage } = deal;
  const { amount, currency } = deal.value;
  const fields: Contribution = [
    [totalsField('n', stage, currency), 1],
    [totalsField('amount', stage, currency), amount],
  ];
  if (isOpen(stage) && deal.winProbability !== null) {
    fields.push([totalsField('ownAmount', stage, currency), amount], [totalsField('ownWeighted', stage, currency), (amount * deal.winProbability) / 100]);
  }
  return fields;
}

/** Field deltas from one contribution to the next; unchanged fields produce nothing. */
function difference(before: Contribution | undefined, after: Contribution): Contribution {
  const deltas: Contribution = before === undefined ? [] : before.map(([field, value]) => [field, -value]);
  for (const [field, value] of after) {
    const existing = deltas.find(([name]) => name === field);
    if (existing) existing[1] += value;
    else deltas.push([field, value]);
  }
  return deltas.filter(([, delta]) => delta !== 0);
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
    const score = activityScore(after.stage, Date.parse(after.lastActivityAt));
    const rescore = before === undefined || score !== activityScore(before.stage, Date.parse(before.lastActivityAt));
    if (deltas.length === 0 && !rescore) return changes;
    for (const { counter, index } of scopeNamesOf(after)) {
      for (const [field, by] of deltas) changes.push({ kind: 'increment', counter, field, by });
      if (rescore) changes.push({ kind: 'index', index, member: after.dealId, score });
    }
    return changes;
  },
};
