import { createHash } from 'node:crypto';
import { isOpen, openStages, type Stage, stages } from '@deals/domain';
import type { RottingDays, StageProbabilities } from '@deals/platform';
import { formatPosition } from '@deals/event-store';
import type { IndexEntry, ReadModelStore } from '@deals/read-models';
import type { PipelineMemo } from './pipeline-memo';
import {
  activityIndex,
  contribution,
  type PipelineDealDocument,
  pipelineDealCollection,
  type PipelineScope,
  pipelineProjectionName,
  stageBand,
  stageOfScore,
  stageRank,
  totalsCounter,
  type TotalsMeasure,
} from './pipeline.projection';

/**
 * The read side of GET /pipeline. Totals come from precomputed counter hashes (one read), the
 * deal list and rotting from the activity index's stage bands (keyset ranges and counts), so the
 * cost does not grow with the number of deals.
 */

export interface PipelineSettings {
  readonly stageProbabilities: StageProbabilities;
  readonly rottingDays: RottingDays;
}

export interface PipelineRequest {
  readonly owner?: string | undefined;
  readonly source?: string | undefined;
  readonly stage?: Stage | undefined;
  /** Only deals that are rotting now. */
  readonly rotting?: boolean | undefined;
  readonly limit: number;
  /** The `nextCursor` of the previous page, as given. */
  readonly cursor?: string | undefined;
}

export type AmountsByCurrency = Record<string, number>;

export interface PipelineStageSummary {
  readonly stage: Stage;
  readonly count: number;
  readonly totalValue: AmountsByCurrency;
  readonly weightedValue: AmountsByCurrency;
  /** The stage's configured default probability (0–1), used for deals without an own one. */
  readonly probability: number;
  /** Open stages only: the limit and how many deals have had no activity for longer. */
  readonly rotting: { readonly limitDays: number; readonly count: number } | null;
}

export interface PipelineDealItem extends Omit<PipelineDealDocument, 'revision'> {
  /** The probability applied (0–1): the own estimate while open, else the stage's. */
  readonly probability: number;
  readonly weightedValue: number;
  readonly rotting: boolean;
}

export interface PipelineView {
  /** The instant rotting was judged against. */
  readonly now: string;
  readonly filters: {
    readonly owner: string | null;
    readonly source: string | null;
    readonly stage: Stage | null;
    readonly rotting: boolean;
  };
  readonly stages: readonly PipelineStageSummary[];
  /** The open stages among `stages`, added up. */
  readonly open: { readonly count: number; readonly totalValue: AmountsByCurrency; readonly weightedValue: AmountsByCurrency };
  /** Ordered by stage (lead → lost), then least recent activity first, so stale deals lead. */
  readonly deals: { readonly items: readonly PipelineDealItem[]; readonly nextCursor: string | null };
}

/** A cursor that is not one this query issued, or was issued for other filters. */
export class InvalidCursorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCursorError';
  }
}

const dayMs = 86_400_000;

/** Money sums keep the input precision (4 decimals); weighted values are estimates (2 decimals). */
const roundAmount = (value: number): number => Math.round(value * 10_000) / 10_000;
const roundWeighted = (value: number): number => Math.round(value * 100) / 100;

export function probabilityOf(deal: Pick<PipelineDealDocument, 'stage' | 'winProbability'>, settings: PipelineSettings): number {
  return isOpen(deal.stage) && deal.winProbability !== null ? deal.winProbability / 100 : settings.stageProbabilities[deal.stage];
}

/** Last activity at or before this instant (epoch ms) means rotting now: strictly longer than the limit. */
export function rottingBefore(stage: Stage, settings: PipelineSettings, now: Date): number | undefined {
  return isOpen(stage) ? now.getTime() - settings.rottingDays[stage] * dayMs - 1 : undefined;
}

/**
 * With a memo, an answer is remembered under the projection's checkpoint until the next commit, or
 * until a deal of its stages starts to rot (PipelineMemo).
 */
export async function queryPipeline(store: ReadModelStore, settings: PipelineSettings, request: PipelineRequest, now: Date, memo?: PipelineMemo): Promise<PipelineView> {
  const checkpoint = memo && (await checkpointOf(store));
  if (memo === undefined || checkpoint === undefined) return computeView(store, settings, request, now);
  const key = JSON.stringify([request.owner ?? null, request.source ?? null, request.stage ?? null, request.rotting ?? false, request.limit, request.cursor ?? null]);
  const { view } = await memo.answer(
    key,
    checkpoint,
    now.getTime(),
    async () => {
      const [view, until] = await Promise.all([computeView(store, settings, request, now), rotsNext(store, settings, request, now)]);
      return { view, from: now.getTime(), until };
    },
    async () => (await checkpointOf(store)) === checkpoint,
  );
  const judged = now.toISOString();
  return view.now === judged ? view : { ...view, now: judged };
}

async function checkpointOf(store: ReadModelStore): Promise<string | undefined> {
  const checkpoint = await store.checkpoint(pipelineProjectionName);
  return checkpoint && formatPosition(checkpoint.position);
}

/**
 * The first instant after `now` at which a deal of the answer's open stages starts to rot: the
 * stage's first deal past the rotting bound in the scope's activity index, once its limit has passed.
 * Until then every rotting count and flag of the answer stands.
 */
async function rotsNext(store: ReadModelStore, settings: PipelineSettings, request: PipelineRequest, now: Date): Promise<number> {
  const index = activityIndex({ owner: request.owner, source: request.source });
  const shown = request.stage === undefined ? stages : [request.stage];
  const instants = await Promise.all(
    shown.map(async (stage) => {
      const before = rottingBefore(stage, settings, now);
      if (before === undefined) return Infinity;
      const band = stageRank(stage) * stageBand;
      const [next] = await store.range(index, { min: band + before + 1, max: band + stageBand - 1, limit: 1 });
      // Its last activity is `before + k` ms: it rots once the bound has moved k ms on.
      return next === undefined ? Infinity : now.getTime() + (next.score - band - before);
    }),
  );
  return Math.min(...instants);
}

/** The answer at this instant, read from the store. */
async function computeView(store: ReadModelStore, settings: PipelineSettings, request: PipelineRequest, now: Date): Promise<PipelineView> {
  const shown = request.stage === undefined ? stages : [request.stage];
  const { owner, source } = request;
  const { counters, rottingCounts, deals } =
    owner !== undefined && source !== undefined && !(await hasPairTotals(store, { owner, source }))
      ? await fromIntersection(store, settings, { ...request, owner, source }, shown, now)
      : await fromScope(store, settings, request, shown, now);
  const summaries = summarize(counters, shown, settings, rottingCounts);
  return {
    now: now.toISOString(),
    filters: { owner: request.owner ?? null, source: request.source ?? null, stage: request.stage ?? null, rotting: request.rotting ?? false },
    stages: summaries,
    open: addUp(summaries.filter((summary) => isOpen(summary.stage))),
    deals,
  };
}

interface ScopeAnswer {
  /** Fields as in the totals counter hashes. */
  readonly counters: Readonly<Record<string, number>>;
  /** Per shown stage; null for closed stages. */
  readonly rottingCounts: ReadonlyArray<number | null>;
  readonly deals: PipelineView['deals'];
}

/** Precomputed totals, counts and ranges of one scope: all deals, an owner, a source, or both. */
async function fromScope(store: ReadModelStore, settings: PipelineSettings, request: PipelineRequest, shown: readonly Stage[], now: Date): Promise<ScopeAnswer> {
  const scope = { owner: request.owner, source: request.source };
  const counting = store.counters(totalsCounter(scope));
  const [counters, rottingCounts, deals] = await Promise.all([
    counting,
    counting.then((counters) => Promise.all(shown.map((stage) => rottingCount(store, stage, scope, settings, now, dealsIn(counters, stage))))),
    listDeals(store, settings, request, scope, now),
  ]);
  return { counters, rottingCounts, deals };
}

/** A stage's deals in a totals hash: its `n` fields, one per currency. */
function dealsIn(counters: Readonly<Record<string, number>>, stage: Stage): number {
  const prefix = `n:${stage}:`;
  return Object.entries(counters).reduce((sum, [field, value]) => (field.startsWith(prefix) ? sum + Math.round(value) : sum), 0);
}

/** The first limit tried when counting a side of a stage band; each round tries sixteen times more. */
const firstCountLimit = 256;

/**
 * A stage's rotting deals: its band of the activity index up to the rotting bound. A store may walk
 * the entries it counts (the embedded one does), and in a stale pipeline nearly every open deal
 * rots, so this counts whichever side of the bound holds fewer deals, each side in turn with a
 * growing limit, and takes the rotting side from the stage's deals in the totals when the other
 * side is the one that ends. That costs about twice the smaller side, where counting the rotting
 * side alone cost all of it; a pipeline with few rotting deals pays one short count, as before.
 * Scores are whole milliseconds, so the other side starts 1 ms after the bound.
 */
async function rottingCount(
  store: ReadModelStore,
  stage: Stage,
  scope: PipelineScope,
  settings: PipelineSettings,
  now: Date,
  dealsInStage: number,
): Promise<number | null> {
  const before = rottingBefore(stage, settings, now);
  if (before === undefined) return null;
  const index = activityIndex(scope);
  const band = stageRank(stage) * stageBand;
  for (let limit = firstCountLimit; ; limit *= 16) {
    const rotting = await store.count(index, band, band + before, limit);
    if (rotting < limit) return rotting;
    const fresh = await store.count(index, band + before + 1, band + stageBand - 1, limit);
    // The totals were read a moment before the count: a commit in between can move the difference by its deals.
    if (fresh < limit) return Math.min(dealsInStage, Math.max(0, dealsInStage - fresh));
  }
}

/**
 * Whether an owner-and-source pair's totals count every deal of the pair. A read model built before
 * pairs had totals has none, or, once its projection ran on, only the changes made since: a deal
 * counted before adds nothing to the sum of `n` when it moves, so the sum falls short of the pair's
 * index (one entry per deal, never removed) exactly when a deal was left out.
 */
async function hasPairTotals(store: ReadModelStore, pair: { readonly owner: string; readonly source: string }): Promise<boolean> {
  const [counters, deals] = await Promise.all([store.counters(totalsCounter(pair)), store.count(activityIndex(pair))]);
  const counted = Object.entries(counters).reduce((sum, [field, value]) => (field.startsWith('n:') ? sum + Math.round(value) : sum), 0);
  return counted === deals;
}

const walkPageSize = 1_000;

/**
 * Owner and source together in a read model without the pair's totals (hasPairTotals): walks the
 * pair's own activity index in pages and adds its deals up. The cost is bounded by that pair's
 * deals, never by all deals; totals, rotting and the list come out of the same walk. A rebuild of
 * the pipeline projection gives the pair its totals.
 */
async function fromIntersection(
  store: ReadModelStore,
  settings: PipelineSettings,
  request: PipelineRequest & { readonly owner: string; readonly source: string },
  shown: readonly Stage[],
  now: Date,
): Promise<ScopeAnswer> {
  const cursor = request.cursor === undefined ? undefined : decodeCursor(request.cursor, request);
  const index = activityIndex({ owner: request.owner, source: request.source });
  const listed = listedStages(request);
  const counters: Record<string, number> = {};
  const rotting = new Map<Stage, number>();
  const page: Array<{ readonly entry: IndexEntry; readonly deal: PipelineDealDocument }> = [];
  let more = false;
  let after: IndexEntry | undefined;
  // Only the shown stages' bands: with a stage filter, the walk covers that stage alone.
  const min = stageRank(shown[0]!) * stageBand;
  const max = (stageRank(shown.at(-1)!) + 1) * stageBand - 1;
  for (;;) {
    const entries = await store.range(index, { min, max, ...(after === undefined ? {} : { after }), limit: walkPageSize });
    const documents = await store.getMany(
      pipelineDealCollection,
      entries.map((entry) => entry.member),
      { frozen: true },
    );
    entries.forEach((entry, position) => {
      const deal = documents[position] as PipelineDealDocument | undefined;
      if (deal === undefined) return;
      for (const [field, value] of contribution(deal)) counters[field] = (counters[field] ?? 0) + value;
      const isRotting = isRottingAt(deal, settings, now);
      if (isRotting) rotting.set(deal.stage, (rotting.get(deal.stage) ?? 0) + 1);
      const wanted = listed.includes(deal.stage) && (!request.rotting || isRotting) && (cursor === undefined || compareEntries(entry, { score: cursor.s, member: cursor.m }) > 0);
      if (!wanted) return;
      if (page.length < request.limit) page.push({ entry, deal });
      else more = true;
    });
    if (entries.length < walkPageSize) break;
    after = entries.at(-1);
  }
  const last = page.at(-1)?.entry;
  return {
    counters,
    rottingCounts: shown.map((stage) => (isOpen(stage) ? (rotting.get(stage) ?? 0) : null)),
    deals: {
      items: page.map(({ deal }) => toItem(deal, settings, now)),
      nextCursor: more && last ? encodeCursor({ f: filterFingerprint(request), s: last.score, m: last.member }) : null,
    },
  };
}

/** Index order: score, then member. */
function compareEntries(a: IndexEntry, b: IndexEntry): number {
  if (a.score !== b.score) return a.score < b.score ? -1 : 1;
  return a.member < b.member ? -1 : a.member > b.member ? 1 : 0;
}

function isRottingAt(deal: PipelineDealDocument, settings: PipelineSettings, now: Date): boolean {
  const before = rottingBefore(deal.stage, settings, now);
  return before !== undefined && Date.parse(deal.lastActivityAt) <= before;
}

/** Closed deals pile up over the years; the list shows them only when asked for by stage. */
function listedStages(request: PipelineRequest): readonly Stage[] {
  return request.stage === undefined ? openStages : [request.stage];
}

interface Sums {
  amount: AmountsByCurrency;
  ownAmount: AmountsByCurrency;
  ownWeighted: AmountsByCurrency;
}

function summarize(
  counters: Readonly<Record<string, number>>,
  shown: readonly Stage[],
  settings: PipelineSettings,
  rottingCounts: ReadonlyArray<number | null>,
): PipelineStageSummary[] {
  const sums = new Map<Stage, Sums>(shown.map((stage) => [stage, { amount: {}, ownAmount: {}, ownWeighted: {} }]));
  // Per-currency deal counts decide which currencies a stage shows: a currency whose deals all
  // left the stage can leave a rounding residue in its sums, and must not show up as 0.00000001.
  const present = new Map<Stage, Set<string>>();
  for (const [field, value] of Object.entries(counters)) {
    const [measure, stage, currency] = field.split(':') as [TotalsMeasure, Stage, string];
    const sum = sums.get(stage);
    if (!sum || currency === undefined) continue;
    if (measure === 'n') {
      if (Math.round(value) > 0) present.set(stage, (present.get(stage) ?? new Set()).add(currency));
    } else {
      sum[measure][currency] = value;
    }
  }
  return shown.map((stage, position) => {
    const sum = sums.get(stage)!;
    const currencies = [...(present.get(stage) ?? [])].sort();
    const probability = settings.stageProbabilities[stage];
    const rotting = rottingCounts[position] ?? null;
    return {
      stage,
      count: dealsIn(counters, stage),
      totalValue: Object.fromEntries(currencies.map((currency) => [currency, roundAmount(sum.amount[currency] ?? 0)])),
      weightedValue: Object.fromEntries(
        currencies.map((currency) => {
          const amount = sum.amount[currency] ?? 0;
          const own = sum.ownAmount[currency] ?? 0;
          return [currency, roundWeighted((amount - own) * probability + (sum.ownWeighted[currency] ?? 0))];
        }),
      ),
      probability,
      rotting: isOpen(stage) && rotting !== null ? { limitDays: settings.rottingDays[stage], count: rotting } : null,
    };
  });
}

function addUp(summaries: readonly PipelineStageSummary[]): PipelineView['open'] {
  const totalValue: AmountsByCurrency = {};
  const weightedValue: AmountsByCurrency = {};
  let count = 0;
  for (const summary of summaries) {
    count += summary.count;
    for (const [currency, amount] of Object.entries(summary.totalValue)) totalValue[currency] = roundAmount((totalValue[currency] ?? 0) + amount);
    for (const [currency, amount] of Object.entries(summary.weightedValue)) weightedValue[currency] = roundWeighted((weightedValue[currency] ?? 0) + amount);
  }
  return { count, totalValue: sortedKeys(totalValue), weightedValue: sortedKeys(weightedValue) };
}

function sortedKeys(amounts: AmountsByCurrency): AmountsByCurrency {
  return Object.fromEntries(Object.entries(amounts).sort(([a], [b]) => (a < b ? -1 : 1)));
}

// ---------------------------------------------------------------------------------------------
// Listing: stage band after stage band, each least recent activity first, keyset cursor.

interface CursorPayload {
  /** Fingerprint of the filters the cursor was issued for. */
  readonly f: string;
  /** Score and member of the last deal on the previous page; the score names its stage. */
  readonly s: number;
  readonly m: string;
}

function filterFingerprint(request: PipelineRequest): string {
  const filters = JSON.stringify([request.owner ?? null, request.source ?? null, request.stage ?? null, request.rotting ?? false]);
  return createHash('sha256').update(filters).digest('base64url').slice(0, 16);
}

export function encodeCursor(payload: CursorPayload): string {
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

export function decodeCursor(cursor: string, request: PipelineRequest): CursorPayload {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('cursor is not one this endpoint issued');
  }
  const { f, s, m } = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  if (typeof f !== 'string' || typeof s !== 'number' || !Number.isFinite(s) || stageOfScore(s) === undefined || typeof m !== 'string' || m.length === 0) {
    throw new InvalidCursorError('cursor is not one this endpoint issued');
  }
  if (f !== filterFingerprint(request)) {
    throw new InvalidCursorError('cursor was issued for other filters; send the same owner, source, stage and rotting as the first page');
  }
  return { f, s, m };
}

async function listDeals(
  store: ReadModelStore,
  settings: PipelineSettings,
  request: PipelineRequest,
  scope: PipelineScope,
  now: Date,
): Promise<PipelineView['deals']> {
  const listed = listedStages(request);
  const fingerprint = filterFingerprint(request);
  const cursor = request.cursor === undefined ? undefined : decodeCursor(request.cursor, request);
  const first = cursor === undefined ? 0 : listed.indexOf(stageOfScore(cursor.s)!);
  if (first < 0) throw new InvalidCursorError('cursor was issued for other filters');

  const index = activityIndex(scope);
  // One more than asked, to know whether a next page exists without issuing an empty one.
  const wanted = request.limit + 1;
  const found: IndexEntry[] = [];
  for (let position = first; position < listed.length && found.length < wanted; position++) {
    const stage = listed[position]!;
    const band = stageRank(stage) * stageBand;
    const before = rottingBefore(stage, settings, now);
    if (request.rotting && before === undefined) continue;
    const after = position === first && cursor !== undefined ? { member: cursor.m, score: cursor.s } : undefined;
    const entries = await store.range(index, {
      min: band,
      max: request.rotting ? band + before! : band + stageBand - 1,
      ...(after === undefined ? {} : { after }),
      limit: wanted - found.length,
    });
    found.push(...entries);
  }
  const page = found.slice(0, request.limit);
  const documents = await store.getMany(
    pipelineDealCollection,
    page.map((entry) => entry.member),
    { frozen: true },
  );
  const items = documents
    .filter((document): document is NonNullable<typeof document> => document !== undefined)
    .map((document) => toItem(document as unknown as PipelineDealDocument, settings, now));
  const last = page.at(-1);
  return {
    items,
    nextCursor: found.length > request.limit && last ? encodeCursor({ f: fingerprint, s: last.score, m: last.member }) : null,
  };
}

function toItem(deal: PipelineDealDocument, settings: PipelineSettings, now: Date): PipelineDealItem {
  const probability = probabilityOf(deal, settings);
  return {
    dealId: deal.dealId,
    title: deal.title,
    organization: deal.organization,
    owner: deal.owner,
    source: deal.source,
    stage: deal.stage,
    value: deal.value,
    winProbability: deal.winProbability,
    probability,
    weightedValue: roundWeighted(deal.value.amount * probability),
    capturedAt: deal.capturedAt,
    lastActivityAt: deal.lastActivityAt,
    rotting: isRottingAt(deal, settings, now),
  };
}
