import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DealEventReader, dealStreamId, type StoredDealEvent, toEventToAppend } from '@deals/deal-streams';
import type { DealEvent } from '@deals/domain';
import { EmbeddedEventStore } from '@deals/event-store';
import { EmbeddedReadModelStore, type JsonObject, type ReadModelChange, type ReadModelStore } from '@deals/read-models';
import { InMemoryReadModelStore } from '../pipeline/testing/in-memory-read-model';
import { auditHash, auditHashFields, genesisHash } from './audit-hash';
import { auditProjection, entryId } from './audit.projection';
import { verifyAuditChains } from './audit-verify';
import { storedEvent } from './testing/audit-events';

/**
 * verifyAuditChains against the real embedded event store: events are appended through the port,
 * projected into an audit log, then altered behind the service's back (SQL on the file, or a write
 * to the read model) the way an insider with access to the storage could.
 */

interface World {
  readonly file: string;
  readonly store: EmbeddedEventStore;
  readonly audit: ReadModelStore;
  readonly deals: readonly string[];
  /** Writes to the read model behind the projection's back, through the port, leaving the checkpoint as it is. */
  tamper(change: ReadModelChange): Promise<void>;
  /** Projects every event in the store up to now, as the runner would, and moves the checkpoint. */
  project(): Promise<void>;
  sql(statement: string, ...params: unknown[]): void;
}

let dir: string;
const opened: Array<{ close(): Promise<void> }> = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-verify-'));
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

function domainEvent(stored: StoredDealEvent, dealId: string): DealEvent {
  const event = stored.event;
  return event.type === 'LeadCaptured' ? ({ ...event, data: { ...event.data, dealId } } as DealEvent) : event;
}

type ReadModelKind = 'embedded' | 'in-memory';

async function openReadModels(kind: ReadModelKind): Promise<ReadModelStore> {
  if (kind === 'in-memory') return new InMemoryReadModelStore();
  const store = EmbeddedReadModelStore.open(path.join(dir, 'read-models.sqlite'));
  opened.push(store);
  return store;
}

/** Three deals of five events each, appended interleaved by two actors, plus one stream that is not a deal. */
async function world(kind: ReadModelKind): Promise<World> {
  const file = path.join(dir, 'events.sqlite');
  const store = EmbeddedEventStore.open({ path: file });
  opened.push(store);
  const audit = await openReadModels(kind);
  const deals = [randomUUID(), randomUUID(), randomUUID()];
  const types = ['LeadCaptured', 'Qualified', 'ProposalSent', 'Negotiated', 'Closed'] as const;
  for (const [revision, type] of types.entries()) {
    for (const [index, dealId] of deals.entries()) {
      const template = storedEvent(type, { dealId, revision });
      await store.appendToStream(dealStreamId(dealId), [
        toEventToAppend(randomUUID(), domainEvent(template, dealId), {
          actor: index % 2 === 0 ? 'sam.sales' : 'root.admin',
          commandId: randomUUID(),
          correlationId: randomUUID(),
          causationId: randomUUID(),
          recordedAt: new Date(Date.UTC(2026, 2, 1, 10, revision, index)).toISOString(),
        }),
      ]);
    }
  }
  await store.appendToStream('ops-settings', [{ id: randomUUID(), type: 'Noted', data: { note: 'not a deal' }, metadata: {} }]);
  const reader = new DealEventReader();
  let projectedUpTo = 0n;
  return {
    file,
    store,
    audit,
    deals,
    async project() {
      const events: StoredDealEvent[] = [];
      let last;
      for await (const recorded of store.readAll()) {
        last = recorded;
        if (recorded.position.commit <= projectedUpTo || !recorded.streamId.startsWith('deal-')) continue;
        events.push(reader.read(recorded));
      }
      const heads = new Map<string, JsonObject>();
      const changes: ReadModelChange[] = [];
      for (const event of events) {
        const previous = heads.get(event.dealId) ?? (await audit.get('audit:head', event.dealId));
        const eventChanges = auditProjection.project(event, {
          get: (collection, id) => (collection === 'audit:head' && id === event.dealId ? previous : undefined),
        });
        for (const change of eventChanges) if (change.kind === 'put' && change.collection === 'audit:head') heads.set(change.id, change.document);
        changes.push(...eventChanges);
      }
      if (last) {
        projectedUpTo = last.position.commit;
        await audit.commit('audit', changes, { position: last.position, eventsProcessed: events.length, lastRecordedAt: '' });
      }
    },
    async tamper(change) {
      const checkpoint = await audit.checkpoint('audit');
      await audit.commit('audit', [change], checkpoint!);
    },
    sql(statement, ...params) {
      const db = new Database(file);
      try {
        db.prepare(statement).run(...params);
      } finally {
        db.close();
      }
    },
  };
}

async function entryOf(w: World, dealId: string, version: number) {
  for await (const recorded of w.store.readStream(dealStreamId(dealId), { fromRevision: BigInt(version), maxCount: 1 })) {
    return { id: entryId(recorded.position), document: (await w.audit.get('audit:entry', entryId(recorded.position)))! };
  }
  throw new Error('no such event');
}

describe.each<ReadModelKind>(['embedded', 'in-memory'])('verifyAuditChains (%s read models)', (kind) => {
  it('finds an intact log ok, counting the deal events and deals up to the checkpoint', async () => {
    const w = await world(kind);
    await w.project();

    const result = await verifyAuditChains(w.store, w.audit);

    expect(result).toEqual({ ok: true, checkedEvents: 15, checkedDeals: 3, checkedUpTo: '16/16', unexpectedEntries: 0 });
  });

  it('checks nothing, and says so, before the projection has run', async () => {
    const w = await world(kind);
    expect(await verifyAuditChains(w.store, w.audit)).toEqual({
      ok: true,
      checkedEvents: 0,
      checkedDeals: 0,
      checkedUpTo: null,
      unexpectedEntries: 0,
    });
  });

  it('leaves events after the checkpoint alone: they are not projected yet', async () => {
    const w = await world(kind);
    await w.project();
    await w.store.appendToStream(dealStreamId(w.deals[0]!), [
      toEventToAppend(randomUUID(), { type: 'FollowedUp', data: { channel: 'call', notes: 'x' }, occurredAt: '2026-03-09T00:00:00.000Z' }, {
        actor: 'sam.sales',
        commandId: 'c',
        correlationId: 'c',
        causationId: 'c',
        recordedAt: '2026-03-09T00:00:00.000Z',
      }),
    ]);
    expect(await verifyAuditChains(w.store, w.audit)).toMatchObject({ ok: true, checkedEvents: 15 });
  });

  it('works across batch boundaries', async () => {
    const w = await world(kind);
    await w.project();
    expect(await verifyAuditChains(w.store, w.audit, { batchSize: 2 })).toMatchObject({ ok: true, checkedEvents: 15 });
  });

  it("reports an event whose payload was changed in the store as the deal's first broken link", async () => {
    const w = await world(kind);
    await w.project();
    const dealId = w.deals[1]!;
    const { document } = await entryOf(w, dealId, 2);
    w.sql(`UPDATE events SET data = json_set(data, '$.amount.amount', 1) WHERE stream_id = ? AND revision = 2`, dealStreamId(dealId));

    const result = await verifyAuditChains(w.store, w.audit);

    expect(result.ok).toBe(false);
    expect(result.firstBrokenLink).toEqual({
      dealId,
      version: 2,
      eventId: document['eventId'],
      position: document['position'],
      expectedHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      storedHash: document['hash'],
      reason: 'event-altered',
    });
    expect(result.firstBrokenLink?.expectedHash).not.toBe(document['hash']);
    expect(result.checkedEvents).toBe(7); // the three deals' first two events, then deal 0's third
  });

  it('reports an event whose actor was changed in its metadata', async () => {
    const w = await world(kind);
    await w.project();
    w.sql(`UPDATE events SET metadata = json_set(metadata, '$.actor', 'someone.else') WHERE stream_id = ? AND revision = 4`, dealStreamId(w.deals[2]!));
    expect((await verifyAuditChains(w.store, w.audit)).firstBrokenLink).toMatchObject({ dealId: w.deals[2], version: 4, reason: 'event-altered' });
  });

  it('reports an event that no longer reads as a deal event, without a recomputed hash', async () => {
    const w = await world(kind);
    await w.project();
    w.sql(`UPDATE events SET type = 'Forged' WHERE stream_id = ? AND revision = 1`, dealStreamId(w.deals[0]!));
    expect((await verifyAuditChains(w.store, w.audit)).firstBrokenLink).toMatchObject({
      dealId: w.deals[0],
      version: 1,
      reason: 'event-altered',
      expectedHash: null,
    });
  });

  it('reports an audit entry edited in the read model as an altered entry', async () => {
    const w = await world(kind);
    await w.project();
    const { id, document } = await entryOf(w, w.deals[0]!, 3);
    await w.tamper({ kind: 'put', collection: 'audit:entry', id, document: { ...document, actor: 'innocent.bystander' } });

    expect((await verifyAuditChains(w.store, w.audit)).firstBrokenLink).toMatchObject({
      dealId: w.deals[0],
      version: 3,
      reason: 'entry-altered',
      storedHash: document['hash'],
    });
  });

  it('reports an entry re-linked to another previous hash as a broken link', async () => {
    const w = await world(kind);
    await w.project();
    const { id, document } = await entryOf(w, w.deals[2]!, 3);
    const previousHash = genesisHash;
    const hash = auditHash(previousHash, document as never);
    await w.tamper({ kind: 'put', collection: 'audit:entry', id, document: { ...document, previousHash, hash } });

    expect((await verifyAuditChains(w.store, w.audit)).firstBrokenLink).toMatchObject({ dealId: w.deals[2], version: 3, reason: 'broken-link' });
  });

  it('still reports an entry rewritten with a freshly computed hash, though it cannot tell it from an altered event', async () => {
    const w = await world(kind);
    await w.project();
    const { id, document } = await entryOf(w, w.deals[1]!, 1);
    const forged = { ...document, data: { budget: false, authority: false, need: false, timeline: false } };
    const hash = auditHash(String(document['previousHash']), forged as never);
    await w.tamper({ kind: 'put', collection: 'audit:entry', id, document: { ...forged, hash } });

    expect((await verifyAuditChains(w.store, w.audit)).firstBrokenLink).toMatchObject({ dealId: w.deals[1], version: 1, reason: 'event-altered' });
  });

  it('reports a missing audit entry', async () => {
    const w = await world(kind);
    await w.project();
    const { id } = await entryOf(w, w.deals[1]!, 4);
    await w.tamper({ kind: 'delete', collection: 'audit:entry', id });
    expect((await verifyAuditChains(w.store, w.audit)).firstBrokenLink).toMatchObject({
      dealId: w.deals[1],
      version: 4,
      reason: 'entry-missing',
      storedHash: null,
    });
  });

  it('reports an event deleted from the middle of a stream as a broken link at the next one', async () => {
    const w = await world(kind);
    await w.project();
    w.sql(`DELETE FROM events WHERE stream_id = ? AND revision = 2`, dealStreamId(w.deals[0]!));
    expect((await verifyAuditChains(w.store, w.audit)).firstBrokenLink).toMatchObject({ dealId: w.deals[0], version: 3, reason: 'broken-link' });
  });

  it("counts the entries of a deal whose whole stream was deleted as unexpected", async () => {
    const w = await world(kind);
    await w.project();
    w.sql(`DELETE FROM events WHERE stream_id = ?`, dealStreamId(w.deals[1]!));
    const result = await verifyAuditChains(w.store, w.audit);
    expect(result).toMatchObject({ ok: false, checkedEvents: 10, checkedDeals: 2, unexpectedEntries: 5 });
    expect(result.firstBrokenLink).toBeUndefined();
  });

  it('reports the first broken link in store order when there are several', async () => {
    const w = await world(kind);
    await w.project();
    w.sql(`UPDATE events SET data = json_set(data, '$.reason', 'x') WHERE stream_id = ? AND revision = 4`, dealStreamId(w.deals[0]!));
    w.sql(`UPDATE events SET data = json_set(data, '$.budget', false) WHERE stream_id = ? AND revision = 1`, dealStreamId(w.deals[2]!));
    expect((await verifyAuditChains(w.store, w.audit)).firstBrokenLink).toMatchObject({ dealId: w.deals[2], version: 1 });
  });

  it('recomputes the same hashes the projection stored, from the events alone', async () => {
    const w = await world(kind);
    await w.project();
    const reader = new DealEventReader();
    let previous = genesisHash;
    for await (const recorded of w.store.readStream(dealStreamId(w.deals[0]!))) {
      const event = reader.read(recorded);
      previous = auditHash(previous, auditHashFields(event));
      expect((await w.audit.get('audit:entry', entryId(event.position)))?.['hash']).toBe(previous);
    }
  });
});
