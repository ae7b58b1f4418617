import { createHash } from 'node:crypto';
import { comparePositions, parsePosition, type Position } from '@deals/event-store';
import type { IndexEntry, JsonObject, ReadModelStore } from '@deals/read-models';
import { canonicalJson } from './audit-hash';
import { type AuditEntry, auditCollections, auditIndexes, positionScore } from './audit.projection';

/**
 * Reading the audit log: filtered listing with keyset pagination, and an export that pages through
 * the whole filtered set without ever holding more than a page.
 *
 * A query walks one sorted index, the most selective one for its filters (fewest members in range),
 * and checks every filter on each entry it reads. A page examines at most `scanBudget` index
 * entries: a sparse combination (an actor who rarely touches a busy deal type) ends the page early,
 * possibly empty, with a cursor to continue, instead of scanning the whole log in one request.
 */

export const auditTimeFields = ['recordedAt', 'occurredAt'] as const;
export type AuditTimeField = (typeof auditTimeFields)[number];

export interface AuditFilter {
  readonly actor?: string;
  readonly dealId?: string;
  readonly type?: string;
  /** Inclusive, ISO 8601. */
  readonly from?: string;
  /** Exclusive, ISO 8601. */
  readonly to?: string;
  /** Which time `from` and `to` bound. Default recordedAt: when the change was made. */
  readonly timeField?: AuditTimeField;
}

export interface AuditPageRequest {
  readonly filter: AuditFilter;
  readonly limit: number;
  /** From a previous page's nextCursor, with the same filter. */
  readonly cursor?: string;
  /** Only entries at or before this position (an export stops where the projection stood when it began). */
  readonly upTo?: Position;
  /** Most index entries one page examines. Default: 10 × limit, at least 1000. */
  readonly scanBudget?: number;
}

/** How the entries are ordered: by position (commit order), or by the time index walked for a time range. */
export type AuditOrder = 'position' | AuditTimeField;

export interface AuditPage {
  readonly entries: AuditEntry[];
  /** null only when the filtered set is exhausted; a short or empty page may still have one. */
  readonly nextCursor: string | null;
  readonly order: AuditOrder;
}

export class InvalidAuditCursorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAuditCursorError';
  }
}

type WalkKind = 'deal' | 'actor' | 'type' | 'time' | 'all';
const walkKinds: readonly WalkKind[] = ['deal', 'actor', 'type', 'time', 'all'];

interface Walk {
  readonly kind: WalkKind;
  readonly index: string;
  readonly min?: number;
  readonly max?: number;
  readonly order: AuditOrder;
}

interface DecodedCursor {
  readonly kind: WalkKind;
  readonly after: IndexEntry;
}

const maxBatch = 500;

/** One page of the entries matching the filter, in the order of the index walked (`order`: position, or a time for a time-range walk). */
export async function queryAuditLog(store: ReadModelStore, request: AuditPageRequest): Promise<AuditPage> {
  const { filter, limit } = request;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const bounds = timeBounds(filter);
  const fingerprint = filterFingerprint(filter);
  const decoded = request.cursor === undefined ? undefined : decodeCursor(request.cursor, fingerprint);
  const walk = decoded ? walkOf(decoded.kind, filter, bounds, request.upTo) : await chooseWalk(store, filter, bounds, request.upTo);
  if (!walk) throw new InvalidAuditCursorError('The cursor does not belong to this filter');
  const budget = request.scanBudget ?? Math.max(1000, limit * 10);
  const matches = entryMatcher(filter, bounds, request.upTo);

  const entries: AuditEntry[] = [];
  let after = decoded?.after;
  let scanned = 0;
  let more = true;
  let batchEnded = true;
  while (more && entries.length < limit && scanned < budget) {
    // With nothing to filter out, read exactly what the page still needs; otherwise read ahead.
    const wanted = Math.min(matches.mayReject ? maxBatch : limit - entries.length, budget - scanned);
    const batch = await store.range(walk.index, {
      limit: wanted,
      ...(walk.min === undefined ? {} : { min: walk.min }),
      ...(walk.max === undefined ? {} : { max: walk.max }),
      ...(after === undefined ? {} : { after }),
    });
    if (batch.length < wanted) more = false;
    const documents = await store.getMany(auditCollections.entry, batch.map((item) => item.member));
    let taken = 0;
    for (const [index, item] of batch.entries()) {
      scanned += 1;
      taken += 1;
      after = item;
      const document = documents[index];
      if (document && matches.test(document)) entries.push(document as unknown as AuditEntry);
      if (entries.length === limit) break;
    }
    // The page filled before the end of the batch: there is more after the cursor.
    batchEnded = taken === batch.length;
    if (!batchEnded) more = true;
  }
  if (more && batchEnded && entries.length === limit && after !== undefined) {
    // Full page at the end of a batch: peek, so the last page does not hand out a cursor to nothing.
    const next = await store.range(walk.index, {
      limit: 1,
      after,
      ...(walk.min === undefined ? {} : { min: walk.min }),
      ...(walk.max === undefined ? {} : { max: walk.max }),
    });
    more = next.length > 0;
  }
  return {
    entries,
    nextCursor: more && after !== undefined ? encodeCursor({ kind: walk.kind, after }, fingerprint) : null,
    order: walk.order,
  };
}

/**
 * Every entry matching the filter, page by page. The consumer pulls: the next page is read only
 * when the previous one has been taken, so a slow reader holds at most one page in memory.
 */
export async function* exportAuditLog(
  store: ReadModelStore,
  filter: AuditFilter,
  options: { readonly upTo?: Position; readonly pageSize?: number } = {},
): AsyncGenerator<AuditEntry, void, undefined> {
  let cursor: string | undefined;
  do {
    const page = await queryAuditLog(store, {
      filter,
      limit: options.pageSize ?? maxBatch,
      ...(cursor === undefined ? {} : { cursor }),
      ...(options.upTo === undefined ? {} : { upTo: options.upTo }),
    });
    yield* page.entries;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}

// ---------------------------------------------------------------------------------------------
// Choosing the index

interface TimeBounds {
  readonly field: AuditTimeField;
  readonly fromMs?: number;
  readonly toMs?: number;
}

function timeBounds(filter: AuditFilter): TimeBounds | undefined {
  if (filter.from === undefined && filter.to === undefined) return undefined;
  const parse = (name: 'from' | 'to', iso: string | undefined): number | undefined => {
    if (iso === undefined) return undefined;
    const ms = Date.parse(iso);
    if (!Number.isFinite(ms)) throw new RangeError(`${name} is not a time: ${iso}`);
    return ms;
  };
  const fromMs = parse('from', filter.from);
  const toMs = parse('to', filter.to);
  return {
    field: filter.timeField ?? 'recordedAt',
    ...(fromMs === undefined ? {} : { fromMs }),
    ...(toMs === undefined ? {} : { toMs }),
  };
}

/** The index for a kind of walk, or undefined when the filter has no such criterion. */
function walkOf(kind: WalkKind, filter: AuditFilter, bounds: TimeBounds | undefined, upTo: Position | undefined): Walk | undefined {
  // Position-scored indexes stop at the export's bound; the exact position is checked per entry too.
  const positional = (index: string): Walk => ({
    kind,
    index,
    order: 'position',
    ...(upTo === undefined ? {} : { max: positionScore(upTo) }),
  });
  switch (kind) {
    case 'deal':
      return filter.dealId === undefined ? undefined : positional(auditIndexes.deal(filter.dealId));
    case 'actor':
      return filter.actor === undefined ? undefined : positional(auditIndexes.actor(filter.actor));
    case 'type':
      return filter.type === undefined ? undefined : positional(auditIndexes.type(filter.type));
    case 'time':
      if (!bounds) return undefined;
      return {
        kind,
        index: auditIndexes[bounds.field],
        order: bounds.field,
        ...(bounds.fromMs === undefined ? {} : { min: bounds.fromMs }),
        // Scores are whole ms, so "before to" is "at most to - 1 ms".
        ...(bounds.toMs === undefined ? {} : { max: Math.ceil(bounds.toMs) - 1 }),
      };
    case 'all':
      return positional(auditIndexes.all);
    default: {
      const unknown: never = kind;
      throw new Error(`Unknown walk ${String(unknown)}`);
    }
  }
}

/** The applicable index with the fewest members in range; ties go to position order. */
async function chooseWalk(
  store: ReadModelStore,
  filter: AuditFilter,
  bounds: TimeBounds | undefined,
  upTo: Position | undefined,
): Promise<Walk> {
  const candidates = walkKinds
    .filter((kind) => kind !== 'all')
    .map((kind) => walkOf(kind, filter, bounds, upTo))
    .filter((walk): walk is Walk => walk !== undefined);
  const first = candidates[0];
  if (!first) return walkOf('all', filter, bounds, upTo)!;
  if (candidates.length === 1) return first;
  const counts = await Promise.all(candidates.map((walk) => store.count(walk.index, walk.min, walk.max)));
  let best = 0;
  counts.forEach((count, index) => {
    if (count < counts[best]!) best = index;
  });
  return candidates[best]!;
}

interface Matcher {
  /** Whether an entry of the walked index can fail the filter; when not, a batch reads just what the page needs. */
  readonly mayReject: boolean;
  test(document: JsonObject): boolean;
}

/** Every criterion is checked on every entry read, whichever index is walked. */
function entryMatcher(filter: AuditFilter, bounds: TimeBounds | undefined, upTo: Position | undefined): Matcher {
  const criteria = [filter.actor, filter.dealId, filter.type, bounds, upTo].filter((criterion) => criterion !== undefined);
  return {
    // One criterion is the walked index itself; a second has to be checked entry by entry.
    mayReject: criteria.length > 1,
    test(document) {
      if (filter.actor !== undefined && document['actor'] !== filter.actor) return false;
      if (filter.dealId !== undefined && document['dealId'] !== filter.dealId) return false;
      if (filter.type !== undefined && document['type'] !== filter.type) return false;
      if (bounds) {
        const time = document[bounds.field];
        const ms = typeof time === 'string' ? Date.parse(time) : Number.NaN;
        if (!Number.isFinite(ms)) return false;
        if (bounds.fromMs !== undefined && ms < bounds.fromMs) return false;
        if (bounds.toMs !== undefined && ms >= bounds.toMs) return false;
      }
      if (upTo !== undefined && !atOrBefore(document['position'], upTo)) return false;
      return true;
    },
  };
}

function atOrBefore(position: unknown, upTo: Position): boolean {
  if (typeof position !== 'string') return false;
  try {
    return comparePositions(parsePosition(position), upTo) <= 0;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Cursors: opaque to clients, base64url of { v, k, m, s, f }

/** Ties a cursor to its filter, so it cannot be replayed against another one and skip entries. */
function filterFingerprint(filter: AuditFilter): string {
  const normalized = {
    actor: filter.actor,
    dealId: filter.dealId,
    type: filter.type,
    from: filter.from === undefined ? undefined : Date.parse(filter.from),
    to: filter.to === undefined ? undefined : Date.parse(filter.to),
    timeField: filter.from === undefined && filter.to === undefined ? undefined : (filter.timeField ?? 'recordedAt'),
  };
  return createHash('sha256').update(canonicalJson(normalized)).digest('base64url').slice(0, 16);
}

function encodeCursor(cursor: DecodedCursor, fingerprint: string): string {
  const body = { v: 1, k: cursor.kind, m: cursor.after.member, s: cursor.after.score, f: fingerprint };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

const maxCursorLength = 1024;

function decodeCursor(text: string, fingerprint: string): DecodedCursor {
  if (text.length > maxCursorLength || !/^[A-Za-z0-9_-]+$/.test(text)) throw new InvalidAuditCursorError('The cursor is not one this service made');
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidAuditCursorError('The cursor is not one this service made');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidAuditCursorError('The cursor is not one this service made');
  const { v, k, m, s, f } = body as Record<string, unknown>;
  if (
    v !== 1 ||
    typeof k !== 'string' ||
    !(walkKinds as readonly string[]).includes(k) ||
    typeof m !== 'string' ||
    m.length === 0 ||
    m.length > 100 ||
    typeof s !== 'number' ||
    !Number.isFinite(s) ||
    typeof f !== 'string'
  ) {
    throw new InvalidAuditCursorError('The cursor is not one this service made');
  }
  if (f !== fingerprint) throw new InvalidAuditCursorError('The cursor belongs to another filter; send the same filters as for the first page');
  return { kind: k as WalkKind, after: { member: m, score: s } };
}
