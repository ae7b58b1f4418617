import { createHash } from 'node:crypto';
import { auditHash, type AuditHashFields, auditHashFields, auditHashPreimage, canonicalJson, genesisHash } from './audit-hash';
import { storedEvent } from './testing/audit-events';

const fields: AuditHashFields = {
  dealId: '11111111-1111-4111-8111-111111111111',
  version: 0,
  eventId: '11111111-0000-4000-8000-000000000000',
  type: 'Qualified',
  schemaVersion: 1,
  actor: 'sam.sales',
  occurredAt: '2026-03-01T10:00:00.000Z',
  recordedAt: '2026-03-10T10:00:00.000Z',
  commandId: 'cmd-1',
  correlationId: 'corr-1',
  causationId: 'cmd-1',
  data: { timeline: false, budget: true, notes: 'Größe €, "quoted"' },
};

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it('gives the same text for the same object in any key order', () => {
    expect(canonicalJson({ x: 1, y: { a: 1, b: 2 } })).toBe(canonicalJson({ y: { b: 2, a: 1 }, x: 1 }));
  });

  it('orders keys by UTF-16 code units, as JCS does', () => {
    expect(canonicalJson({ b: 1, B: 2, é: 3, '\u{1F600}': 4, '\uFB33': 5 })).toBe('{"B":2,"b":1,"é":3,"\u{1F600}":4,"\uFB33":5}');
    // In code-point order U+FB33 would come before U+1F600; in UTF-16 units the surrogate 0xD83D comes first.
  });

  it('writes numbers as ECMAScript does', () => {
    expect(canonicalJson([0.1, -0, 1e21, 47000, 1.5e-7])).toBe('[0.1,0,1e+21,47000,1.5e-7]');
  });

  it('leaves out members whose value is undefined, like JSON', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it.each([NaN, Infinity, 10n, () => 1, Symbol('s')])('refuses %p, which JSON cannot hold', (value) => {
    expect(() => canonicalJson({ value })).toThrow(TypeError);
  });
});

describe('auditHash', () => {
  it('links the first entry of a deal to 64 zeros', () => {
    expect(genesisHash).toBe('0000000000000000000000000000000000000000000000000000000000000000');
  });

  it('is SHA-256 in lowercase hex of the canonical JSON of the fields and the previous hash (the documented recipe)', () => {
    const preimage =
      '{"actor":"sam.sales","causationId":"cmd-1","commandId":"cmd-1","correlationId":"corr-1",' +
      '"data":{"budget":true,"notes":"Größe €, \\"quoted\\"","timeline":false},"dealId":"11111111-1111-4111-8111-111111111111",' +
      '"eventId":"11111111-0000-4000-8000-000000000000","occurredAt":"2026-03-01T10:00:00.000Z",' +
      `"previousHash":"${genesisHash}","recordedAt":"2026-03-10T10:00:00.000Z","schemaVersion":1,"type":"Qualified","version":0}`;

    expect(auditHashPreimage(genesisHash, fields)).toBe(preimage);
    expect(auditHash(genesisHash, fields)).toBe(createHash('sha256').update(preimage, 'utf8').digest('hex'));
    expect(auditHash(genesisHash, fields)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each(Object.keys(fields) as Array<keyof AuditHashFields>)('changes when %s changes', (key) => {
    const value = fields[key];
    const altered = {
      ...fields,
      [key]: typeof value === 'number' ? value + 1 : typeof value === 'string' ? `${value}x` : { ...fields.data, budget: false },
    };
    expect(auditHash(genesisHash, altered)).not.toBe(auditHash(genesisHash, fields));
  });

  it('changes when the previous hash changes', () => {
    expect(auditHash('f'.repeat(64), fields)).not.toBe(auditHash(genesisHash, fields));
  });

  it('does not depend on the key order of the payload', () => {
    const reordered = { ...fields, data: { notes: fields.data['notes'], budget: true, timeline: false } };
    expect(auditHash(genesisHash, reordered)).toBe(auditHash(genesisHash, fields));
  });

  it('ignores members outside the recipe, so a stored entry rehashes to its own hash', () => {
    const entry = { ...fields, position: '7/7', previousHash: genesisHash, hash: 'whatever', requestHash: 'abc' };
    expect(auditHash(genesisHash, entry)).toBe(auditHash(genesisHash, fields));
  });
});

describe('auditHashFields', () => {
  it('takes the payload and the audit metadata of a stored event, with the revision as a number', () => {
    const stored = storedEvent('FollowedUp', { revision: 5, position: 42, actor: 'alex' });
    expect(auditHashFields(stored)).toEqual({
      dealId: stored.dealId,
      version: 5,
      eventId: stored.eventId,
      type: 'FollowedUp',
      schemaVersion: 1,
      actor: 'alex',
      occurredAt: stored.metadata.occurredAt,
      recordedAt: stored.metadata.recordedAt,
      commandId: stored.metadata.commandId,
      correlationId: stored.metadata.correlationId,
      causationId: stored.metadata.causationId,
      data: { channel: 'call', notes: 'Delivery check' },
    });
  });

  it('covers the payload as written, not as a later schema reads it, so an upcast is not tampering', () => {
    const written = storedEvent('FollowedUp', { revision: 1, position: 7 });
    const upcast = { ...written, event: { ...written.event, data: { channel: 'call', notes: 'Delivery check', outcome: 'satisfied' } } };
    expect(auditHashFields(upcast as typeof written)).toEqual(auditHashFields(written));
    const altered = { ...written, storedData: { channel: 'call', notes: 'Edited later' } };
    expect(auditHash(genesisHash, auditHashFields(altered))).not.toBe(auditHash(genesisHash, auditHashFields(written)));
  });
});

describe('the test vectors published in docs/audit.md', () => {
  it('chains two follow-ups of one deal to the documented hashes', () => {
    const first: AuditHashFields = {
      dealId: '3f2b8c1e-6a4d-4e0b-9c57-2d8e1a9b4f60',
      version: 0,
      eventId: '9a7d3c52-1f4e-5b86-a0c9-6e2f8d4b1a37',
      type: 'FollowedUp',
      schemaVersion: 1,
      actor: 'sam.sales',
      occurredAt: '2026-03-01T10:00:00.000Z',
      recordedAt: '2026-03-01T10:00:00.123Z',
      commandId: 'c1',
      correlationId: 'corr-1',
      causationId: 'c1',
      data: { notes: 'Delivery check', channel: 'call' },
    };
    const second: AuditHashFields = {
      ...first,
      version: 1,
      eventId: '0b1c2d3e-4f50-5617-8293-a4b5c6d7e8f9',
      occurredAt: '2026-03-02T09:00:00.000Z',
      recordedAt: '2026-03-02T09:00:00.000Z',
      commandId: 'c2',
      causationId: 'c2',
      data: { channel: 'email', notes: 'Referral: asked for an intro' },
    };

    const firstHash = auditHash(genesisHash, first);
    expect(firstHash).toBe('d4e59b0ed935b3da0ad69ec4013d6947f0f2a3fedc7eca1fbc59d44a1aab02c7');
    expect(auditHash(firstHash, second)).toBe('4d3297d373bbad4b0686d365ec5a6aaa6bb4599544e8fade29ad9a035657e7af');
  });
});
