import type { StoredDealEvent } from '@deals/deal-streams';
import type { JsonObject, ReadModelChange } from '@deals/read-models';
import type { DocumentReader } from '../projection';
import { auditHash, auditHashFields, genesisHash } from './audit-hash';
import { type AuditEntry, auditProjection, entryId } from './audit.projection';
import { dealA, dealB, storedEvent } from './testing/audit-events';

/** Documents as the runner would hand them over: everything earlier events put, by collection and id. */
class Documents implements DocumentReader {
  private readonly documents = new Map<string, JsonObject>();

  get(collection: string, id: string): JsonObject | undefined {
    return this.documents.get(`${collection}/${id}`);
  }

  apply(changes: readonly ReadModelChange[]): void {
    for (const change of changes) {
      if (change.kind === 'put') this.documents.set(`${change.collection}/${change.id}`, change.document);
      if (change.kind === 'delete') this.documents.delete(`${change.collection}/${change.id}`);
    }
  }
}

function givenAudit(history: readonly StoredDealEvent[]) {
  const documents = new Documents();
  for (const event of history) documents.apply(auditProjection.project(event, documents));
  return {
    documents,
    when(event: StoredDealEvent) {
      return { then: auditProjection.project(event, documents) };
    },
  };
}

function putEntry(changes: readonly ReadModelChange[]): AuditEntry {
  const put = changes.find((change) => change.kind === 'put' && change.collection === 'audit:entry');
  if (put?.kind !== 'put') throw new Error('no audit entry was put');
  return put.document as unknown as AuditEntry;
}

const lead = storedEvent('LeadCaptured', { revision: 0, position: 1 });
const qualified = storedEvent('Qualified', { revision: 1, position: 2, actor: 'alex.audit' });

describe('AuditProjection', () => {
  it('is named audit and reads only the chain head of the event\'s deal', () => {
    expect(auditProjection.name).toBe('audit');
    expect(auditProjection.reads(qualified)).toEqual([{ collection: 'audit:head', id: dealA }]);
  });

  it('given no entries for a deal, when its first event arrives, then the entry links to the genesis hash', () => {
    const { then } = givenAudit([]).when(lead);

    const id = entryId(lead.position);
    expect(then).toEqual([
      {
        kind: 'put',
        collection: 'audit:entry',
        id,
        document: {
          position: '1/1',
          ...auditHashFields(lead),
          previousHash: genesisHash,
          hash: auditHash(genesisHash, auditHashFields(lead)),
        },
      },
      {
        kind: 'put',
        collection: 'audit:head',
        id: dealA,
        document: { dealId: dealA, version: 0, hash: auditHash(genesisHash, auditHashFields(lead)), position: '1/1' },
      },
      { kind: 'index', index: 'audit:all', member: id, score: 1 },
      { kind: 'index', index: 'audit:actor:sam.sales', member: id, score: 1 },
      { kind: 'index', index: `audit:deal:${dealA}`, member: id, score: 1 },
      { kind: 'index', index: 'audit:type:LeadCaptured', member: id, score: 1 },
      { kind: 'index', index: 'audit:recordedAt', member: id, score: Date.parse(lead.metadata.recordedAt) },
      { kind: 'index', index: 'audit:occurredAt', member: id, score: Date.parse(lead.metadata.occurredAt) },
    ]);
  });

  it('given a deal with one entry, when its next event arrives, then the entry links to the previous hash', () => {
    const first = auditHash(genesisHash, auditHashFields(lead));

    const entry = putEntry(givenAudit([lead]).when(qualified).then);

    expect(entry).toMatchObject({ version: 1, actor: 'alex.audit', type: 'Qualified', previousHash: first });
    expect(entry.hash).toBe(auditHash(first, auditHashFields(qualified)));
  });

  it('given interleaved events of two deals, then each deal keeps its own chain', () => {
    const otherLead = storedEvent('LeadCaptured', { dealId: dealB, revision: 0, position: 2 });
    const leadA = storedEvent('LeadCaptured', { revision: 0, position: 1 });
    const qualifiedA = storedEvent('Qualified', { revision: 1, position: 3 });

    const entry = putEntry(givenAudit([leadA, otherLead]).when(qualifiedA).then);

    expect(entry.previousHash).toBe(auditHash(genesisHash, auditHashFields(leadA)));
    const otherQualified = storedEvent('Qualified', { dealId: dealB, revision: 1, position: 4 });
    const otherEntry = putEntry(givenAudit([leadA, otherLead, qualifiedA]).when(otherQualified).then);
    expect(otherEntry.previousHash).toBe(auditHash(genesisHash, auditHashFields(otherLead)));
  });

  it('given an event already projected, when it is delivered again, then nothing changes (run it twice)', () => {
    expect(givenAudit([lead, qualified]).when(qualified).then).toEqual([]);
    expect(givenAudit([lead, qualified]).when(lead).then).toEqual([]);
  });

  it('gives the same documents when the whole history is projected twice from scratch', () => {
    const history = [lead, qualified, storedEvent('ProposalSent', { revision: 2, position: 5 })];
    const once = givenAudit(history).documents;
    const twice = givenAudit(history).documents;
    expect(twice).toEqual(once);
  });

  it('indexes the entry under its actor, deal and type, each scored by position', () => {
    const event = storedEvent('Closed', { dealId: dealB, revision: 4, position: 77, actor: 'root.admin' });
    const indexes = givenAudit([]).when(event).then.filter((change) => change.kind === 'index');
    expect(indexes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ index: 'audit:actor:root.admin', score: 77 }),
        expect.objectContaining({ index: `audit:deal:${dealB}`, score: 77 }),
        expect.objectContaining({ index: 'audit:type:Closed', score: 77 }),
      ]),
    );
  });

  it('scores the time indexes by recordedAt and occurredAt in ms, which may differ for backdated history', () => {
    const backdated = storedEvent('LeadCaptured', { occurredAt: '2019-01-02T03:04:05.678Z', recordedAt: '2026-03-10T00:00:00.000Z' });
    const changes = givenAudit([]).when(backdated).then;
    expect(changes).toContainEqual(expect.objectContaining({ index: 'audit:occurredAt', score: Date.UTC(2019, 0, 2, 3, 4, 5, 678) }));
    expect(changes).toContainEqual(expect.objectContaining({ index: 'audit:recordedAt', score: Date.UTC(2026, 2, 10) }));
  });

  it('leaves an entry whose time does not parse off that time index only', () => {
    const odd = storedEvent('LeadCaptured', { occurredAt: 'not a time' });
    const indexes = givenAudit([]).when(odd).then.flatMap((change) => (change.kind === 'index' ? [change.index] : []));
    expect(indexes).toEqual(['audit:all', 'audit:actor:sam.sales', `audit:deal:${dealA}`, 'audit:type:LeadCaptured', 'audit:recordedAt']);
  });

  it('makes entry ids that sort as positions do, also beyond 2^53', () => {
    const positions = [9n, 10n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n];
    const ids = positions.map((commit) => entryId({ commit, prepare: commit }));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(entryId({ commit: 5n, prepare: 4n }) < entryId({ commit: 5n, prepare: 5n })).toBe(true);
  });

  it('is pure: the same event and documents give the same changes', () => {
    const given = givenAudit([lead]);
    expect(given.when(qualified).then).toEqual(given.when(qualified).then);
  });
});
