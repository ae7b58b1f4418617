import type { StoredDealEvent } from '@deals/deal-streams';
import type { RangeOptions } from '@deals/read-models';
import { InMemoryReadModelStore } from '../pipeline/testing/in-memory-read-model';
import { type AuditEntry, auditProjection } from './audit.projection';
import { type AuditFilter, exportAuditLog, InvalidAuditCursorError, queryAuditLog } from './audit.query';
import { actors, auditHistory as history, deals, random, types } from './testing/audit-events';

function storeWith(events: readonly StoredDealEvent[]): InMemoryReadModelStore {
  const store = new InMemoryReadModelStore();
  store.project(auditProjection, events);
  return store;
}

/** What a filter should return, by brute force over every entry. */
function expected(store: InMemoryReadModelStore, filter: AuditFilter): AuditEntry[] {
  const field = filter.timeField ?? 'recordedAt';
  return [...(store.documents.get('audit:entry')?.values() ?? [])]
    .map((document) => document as unknown as AuditEntry)
    .filter(
      (entry) =>
        (filter.actor === undefined || entry.actor === filter.actor) &&
        (filter.dealId === undefined || entry.dealId === filter.dealId) &&
        (filter.type === undefined || entry.type === filter.type) &&
        (filter.from === undefined || Date.parse(entry[field]) >= Date.parse(filter.from)) &&
        (filter.to === undefined || Date.parse(entry[field]) < Date.parse(filter.to)),
    );
}

const byPosition = (entries: readonly AuditEntry[]) => [...entries].sort((a, b) => Number(a.position.split('/')[0]) - Number(b.position.split('/')[0]));

async function allPages(store: InMemoryReadModelStore, filter: AuditFilter, limit: number, scanBudget?: number) {
  const entries: AuditEntry[] = [];
  const pages: number[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await queryAuditLog(store, {
      filter,
      limit,
      ...(cursor === undefined ? {} : { cursor }),
      ...(scanBudget === undefined ? {} : { scanBudget }),
    });
    expect(page.entries.length).toBeLessThanOrEqual(limit);
    entries.push(...page.entries);
    pages.push(page.entries.length);
    if (page.nextCursor === null) return { entries, pages, order: page.order };
    cursor = page.nextCursor;
  }
  throw new Error('pagination did not end');
}

describe('queryAuditLog', () => {
  const events = history();
  const store = storeWith(events);

  it('lists every entry oldest first when no filter is given', async () => {
    const page = await queryAuditLog(store, { filter: {}, limit: 500 });
    expect(page.entries.map((entry) => entry.position)).toEqual(events.map((event) => `${event.position.commit}/${event.position.commit}`));
    expect(page.nextCursor).toBeNull();
    expect(page.order).toBe('position');
  });

  it('collects every entry exactly once, in order, over many pages, and ends without a trailing empty page', async () => {
    const { entries, pages } = await allPages(store, {}, 7);
    expect(entries.map((entry) => entry.eventId)).toEqual(events.map((event) => event.eventId));
    expect(pages.at(-1)).toBeGreaterThan(0);
    expect(pages.length).toBe(Math.ceil(events.length / 7));
  });

  it.each<[string, AuditFilter]>([
    ['an actor', { actor: 'bob' }],
    ['a deal', { dealId: deals[2]! }],
    ['an event type', { type: 'Negotiated' }],
    ['a recordedAt range', { from: '2026-03-01T00:30:00Z', to: '2026-03-01T01:10:00Z' }],
    ['an open-ended range', { from: '2026-03-01T01:30:00Z' }],
    ['an occurredAt range', { from: '2025-06-01', to: '2025-09-01', timeField: 'occurredAt' }],
    ['actor and type', { actor: 'alice', type: 'Qualified' }],
    ['deal, actor and range', { dealId: deals[0]!, actor: 'carol', to: '2026-03-01T01:00:00Z' }],
    ['type and occurredAt range', { type: 'FollowedUp', from: '2025-03-01', timeField: 'occurredAt' }],
    ['a filter nothing matches', { actor: 'nobody' }],
  ])('filters by %s, across pages, exactly as a full scan would', async (_name, filter) => {
    const { entries, order } = await allPages(store, filter, 5);
    const want = expected(store, filter);
    if (order === 'position') expect(entries).toEqual(byPosition(want));
    else {
      expect(byPosition(entries)).toEqual(byPosition(want));
      const times = entries.map((entry) => Date.parse(entry[order]));
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });

  it('takes from inclusive and to exclusive', async () => {
    const third = events[2]!.metadata.recordedAt;
    const fifth = events[4]!.metadata.recordedAt;
    const page = await queryAuditLog(store, { filter: { from: third, to: fifth }, limit: 10 });
    expect(page.entries.map((entry) => entry.recordedAt)).toEqual([third, events[3]!.metadata.recordedAt]);
  });

  it('walks the most selective index: a deal rather than an actor with many entries', async () => {
    const walked: string[] = [];
    const spy = Object.create(store) as InMemoryReadModelStore;
    spy.range = async (index: string, options: RangeOptions) => {
      walked.push(index);
      return store.range(index, options);
    };
    await queryAuditLog(spy, { filter: { actor: 'alice', dealId: deals[1]! }, limit: 5 });
    expect(new Set(walked)).toEqual(new Set([`audit:deal:${deals[1]}`]));
  });

  it('walks the time index when a narrow range is the most selective filter, in time order', async () => {
    const page = await queryAuditLog(store, { filter: { type: 'Qualified', from: '2026-03-01T00:00:00Z', to: '2026-03-01T00:20:00Z' }, limit: 50 });
    expect(page.order).toBe('recordedAt');
  });

  it('bounds the work of one page for a sparse filter and hands out a cursor to continue', async () => {
    const sparse = { actor: '@eve', type: 'Closed' } as const;
    const first = await queryAuditLog(store, { filter: sparse, limit: 50, scanBudget: 10 });
    expect(first.nextCursor).not.toBeNull();
    const { entries } = await allPages(store, sparse, 50, 10);
    expect(entries).toEqual(byPosition(expected(store, sparse)));
  });

  it('refuses a cursor made for another filter', async () => {
    const page = await queryAuditLog(store, { filter: { actor: 'alice' }, limit: 2 });
    await expect(queryAuditLog(store, { filter: { actor: 'bob' }, limit: 2, cursor: page.nextCursor! })).rejects.toThrow(InvalidAuditCursorError);
  });

  it.each([
    ['not base64url', 'not a cursor!'],
    ['not JSON', Buffer.from('{oops').toString('base64url')],
    ['a JSON array', Buffer.from('[]').toString('base64url')],
    ['an unknown version', Buffer.from(JSON.stringify({ v: 2, k: 'all', m: 'x', s: 1, f: 'x' })).toString('base64url')],
    ['an unknown index', Buffer.from(JSON.stringify({ v: 1, k: '../etc', m: 'x', s: 1, f: 'x' })).toString('base64url')],
    ['a score that is not a number', Buffer.from(JSON.stringify({ v: 1, k: 'all', m: 'x', s: '1', f: 'x' })).toString('base64url')],
    ['far too long', 'A'.repeat(5000)],
  ])('refuses a cursor that is %s', async (_name, cursor) => {
    await expect(queryAuditLog(store, { filter: {}, limit: 2, cursor })).rejects.toThrow(InvalidAuditCursorError);
  });

  it('stops at upTo, so an export does not chase entries written after it began', async () => {
    const page = await queryAuditLog(store, { filter: {}, limit: 500, upTo: { commit: 10n, prepare: 10n } });
    expect(page.entries.map((entry) => entry.position)).toEqual(Array.from({ length: 10 }, (_, index) => `${index + 1}/${index + 1}`));
    const timed = await queryAuditLog(store, { filter: { from: '2026-01-01' }, limit: 500, upTo: { commit: 10n, prepare: 10n } });
    expect(timed.entries).toHaveLength(10);
  });

  it('agrees with a full scan for many random filters and page sizes', async () => {
    const next = random(99);
    const pick = <T>(values: readonly T[]): T | undefined => (next() < 0.5 ? undefined : values[Math.floor(next() * values.length)]);
    for (let round = 0; round < 40; round++) {
      const start = Date.UTC(2026, 2, 1) + Math.floor(next() * 120) * 60_000;
      const filter: AuditFilter = {
        ...(pick(actors) === undefined ? {} : { actor: pick(actors) ?? 'alice' }),
        ...(pick(deals) === undefined ? {} : { dealId: pick(deals) ?? deals[0]! }),
        ...(pick(types) === undefined ? {} : { type: pick(types) ?? 'Closed' }),
        ...(next() < 0.5 ? {} : { from: new Date(start).toISOString(), to: new Date(start + Math.floor(next() * 90) * 60_000).toISOString() }),
      };
      const limit = 1 + Math.floor(next() * 9);
      const { entries } = await allPages(store, filter, limit, 1 + Math.floor(next() * 30));
      expect(byPosition(entries)).toEqual(byPosition(expected(store, filter)));
      expect(new Set(entries.map((entry) => entry.eventId)).size).toBe(entries.length);
    }
  });
});

describe('exportAuditLog', () => {
  it('yields every matching entry, in order', async () => {
    const events = history(3, 60);
    const store = storeWith(events);
    const exported: AuditEntry[] = [];
    for await (const entry of exportAuditLog(store, { actor: 'alice' }, { pageSize: 4 })) exported.push(entry);
    expect(exported).toEqual(byPosition(expected(store, { actor: 'alice' })));
  });

  it('reads a page only when the consumer asks for more, so memory stays at one page', async () => {
    const store = storeWith(history(5, 100));
    let ranges = 0;
    const spy = Object.create(store) as InMemoryReadModelStore;
    spy.range = async (index: string, options: RangeOptions) => {
      ranges += 1;
      return store.range(index, options);
    };
    const export_ = exportAuditLog(spy, {}, { pageSize: 10 });
    await export_.next();
    const afterFirst = ranges;
    for (let index = 0; index < 9; index++) await export_.next();
    expect(ranges).toBe(afterFirst);
    await export_.next();
    expect(ranges).toBeGreaterThan(afterFirst);
    await export_.return(undefined);
  });
});
