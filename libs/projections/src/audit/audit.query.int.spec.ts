import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredDealEvent } from '@deals/deal-streams';
import { describeForStore, readModelStoreKinds, testRedisUrl as redisUrl } from '@deals/read-models/testing';
import {
  EmbeddedReadModelStore,
  type JsonObject,
  type ReadModelChange,
  type ReadModelStore,
  RedisReadModelStore,
} from '@deals/read-models';
import { InMemoryReadModelStore } from '../pipeline/testing/in-memory-read-model';
import { auditProjection } from './audit.projection';
import { type AuditFilter, exportAuditLog, queryAuditLog } from './audit.query';
import { actors, auditHistory, deals, random, types } from './testing/audit-events';

// The audit query against the real stores must page exactly as it does on the in-memory reference:
// same entries, same cursors' pages, same index chosen. Redis as CI runs it (REDIS_URL, or local).


/** Commits events in batches the way the runner does: each event sees the documents the batch wrote before it. */
async function commitAudit(store: ReadModelStore, events: readonly StoredDealEvent[], batchSize: number): Promise<void> {
  for (let start = 0; start < events.length; start += batchSize) {
    const batch = events.slice(start, start + batchSize);
    const written = new Map<string, JsonObject>();
    const changes: ReadModelChange[] = [];
    for (const event of batch) {
      const heads = new Map<string, JsonObject | undefined>();
      for (const ref of auditProjection.reads(event)) {
        const key = `${ref.collection}/${ref.id}`;
        heads.set(key, written.get(key) ?? (await store.get(ref.collection, ref.id)));
      }
      const eventChanges = auditProjection.project(event, { get: (collection, id) => heads.get(`${collection}/${id}`) });
      for (const change of eventChanges) if (change.kind === 'put') written.set(`${change.collection}/${change.id}`, change.document);
      changes.push(...eventChanges);
    }
    const last = batch.at(-1)!;
    await store.commit('audit', changes, { position: last.position, eventsProcessed: start + batch.length, lastRecordedAt: last.metadata.recordedAt });
  }
}

const reference = new InMemoryReadModelStore();
const events = auditHistory(11, 300);
reference.project(auditProjection, events);

async function pages(target: ReadModelStore, filter: AuditFilter, limit: number, scanBudget: number) {
  const result: Array<{ positions: string[]; nextCursor: string | null; order: string }> = [];
  let cursor: string | undefined;
  do {
    const page = await queryAuditLog(target, { filter, limit, scanBudget, ...(cursor === undefined ? {} : { cursor }) });
    result.push({ positions: page.entries.map((entry) => entry.position), nextCursor: page.nextCursor, order: page.order });
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && result.length < 1000);
  return result;
}

for (const kind of readModelStoreKinds) describeForStore(kind)(`audit query on the ${kind} read-model store`, () => {
  let directory: string;
  let store: ReadModelStore;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'audit-int-'));
    store =
      kind === 'embedded'
        ? EmbeddedReadModelStore.open(join(directory, 'read-models.sqlite'))
        : await RedisReadModelStore.connect(redisUrl, { keyPrefix: `test:${randomUUID()}:` });
    // Small batches, so that one deal's chain spans several commits.
    await commitAudit(store, events, 7);
  });

  afterAll(async () => {
    // reset removes every key of the projection, so the shared Redis keeps nothing of this test.
    await store.reset('audit');
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('stores the same entries and chain heads as the in-memory reference', async () => {
    for (const dealId of deals) expect(await store.get('audit:head', dealId)).toEqual(reference.getSync('audit:head', dealId));
    const all = await queryAuditLog(store, { filter: {}, limit: 500 });
    expect(all.entries).toHaveLength(events.length);
    expect(all.entries).toEqual((await queryAuditLog(reference, { filter: {}, limit: 500 })).entries);
  });

  it('pages exactly like the reference for many random filters, page sizes and scan budgets', async () => {
    const next = random(2024);
    const maybe = <T>(values: readonly T[]): T | undefined => (next() < 0.5 ? undefined : values[Math.floor(next() * values.length)]);
    for (let round = 0; round < 60; round++) {
      const actor = maybe(actors);
      const dealId = maybe(deals);
      const type = maybe(types);
      const start = Date.UTC(2026, 2, 1) + Math.floor(next() * 300) * 60_000;
      const filter: AuditFilter = {
        ...(actor === undefined ? {} : { actor }),
        ...(dealId === undefined ? {} : { dealId }),
        ...(type === undefined ? {} : { type }),
        ...(next() < 0.5 ? {} : { from: new Date(start).toISOString(), to: new Date(start + Math.floor(1 + next() * 200) * 60_000).toISOString() }),
      };
      const limit = 1 + Math.floor(next() * 20);
      const budget = 5 + Math.floor(next() * 50);
      expect({ filter, pages: await pages(store, filter, limit, budget) }).toEqual({ filter, pages: await pages(reference, filter, limit, budget) });
    }
  });

  it('exports every entry of a filter, lazily, in order', async () => {
    const exported: string[] = [];
    for await (const entry of exportAuditLog(store, { actor: '@eve' }, { pageSize: 9 })) exported.push(entry.position);
    const want = events.filter((event) => event.metadata.actor === '@eve').map((event) => `${event.position.commit}/${event.position.prepare}`);
    expect(exported).toEqual(want);
  });
});
