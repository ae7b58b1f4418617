import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parsePosition } from '@deals/event-store';
import type { ApiKey } from '@deals/platform';
import type { ReadModelStore } from '@deals/read-models';
import { READ_MODEL_STORE } from '../infrastructure/tokens';
import { actors, bodies, keys, startTestApp, type TestApp, type TestResponse } from '../testing/test-app';
import { entryId } from '@deals/projections';
import { csvToEntries, parseCsv } from './testing/parse-csv';

/**
 * The global audit log over a real socket: deals driven through the command API by several actors,
 * then read back through GET /audit (filters, pages, exports) and checked with GET /audit/verify,
 * also after the stored events and entries were altered behind the service's back.
 */

type Entry = Record<string, any>;

/** A sales key whose actor a spreadsheet would read as a formula. */
const eve: ApiKey = { key: 'test-eve-key-000000000001', actor: '@eve', roles: ['sales'] };

function startWithEve(): Promise<TestApp> {
  const usual = (Object.keys(keys) as Array<keyof typeof keys>).map((role): ApiKey => ({ key: keys[role], actor: actors[role], roles: [role] }));
  return startTestApp({ apiKeys: [...usual, eve] });
}

function asEve(): { as: null; headers: Record<string, string> } {
  return { as: null, headers: { authorization: `Bearer ${eve.key}` } };
}

/** Runs commands and expects each to succeed. */
async function drive(api: TestApp, steps: ReadonlyArray<[path: string, body: unknown, as?: 'sales' | 'admin' | 'eve']>): Promise<string> {
  let dealId = '';
  for (const [path, body, as = 'sales'] of steps) {
    const options = as === 'eve' ? { ...asEve(), body } : { as, body };
    const response = await api.request('POST', path === 'capture' ? '/deals' : `/deals/${dealId}/${path}`, options);
    expect({ path, status: response.status }).toEqual({ path, status: path === 'capture' ? 201 : 200 });
    if (path === 'capture') dealId = response.body.dealId;
  }
  return dealId;
}

function query(params: Record<string, string | number>): string {
  return new URLSearchParams(Object.entries(params).map(([key, value]): [string, string] => [key, String(value)])).toString();
}

/** Walks every page of a filter. */
async function allPages(api: TestApp, params: Record<string, string | number>, limit: number) {
  const entries: Entry[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const response = await api.request('GET', `/audit?${query({ ...params, limit, ...(cursor ? { cursor } : {}) })}`, { as: 'auditor' });
    expect(response.status).toBe(200);
    expect(response.body.entries.length).toBeLessThanOrEqual(limit);
    entries.push(...response.body.entries);
    cursor = response.body.nextCursor;
    pages += 1;
    if (pages > 1000) throw new Error('pagination did not end');
  } while (cursor !== null);
  return { entries, pages };
}

describe('GET /audit', () => {
  let api: TestApp;
  let everything: Entry[];
  const deal: Record<'won' | 'lost' | 'imported', string> = { won: '', lost: '', imported: '' };

  beforeAll(async () => {
    api = await startWithEve();
    deal.won = await drive(api, [
      ['capture', bodies.lead()],
      ['qualification', bodies.qualification()],
      ['proposals', bodies.proposal()],
      ['negotiations', bodies.negotiation(), 'admin'],
      ['proposals', bodies.proposal({ amount: 48000, terms: '=HYPERLINK("http://evil.example","click")' })],
      ['closing', bodies.won(), 'admin'],
      ['follow-ups', bodies.followUp({ notes: 'Delivery check, "all good"\nNext: referral' })],
    ]);
    deal.lost = await drive(api, [
      ['capture', bodies.lead({ title: 'Warehouse scanners', owner: 'eve' }), 'eve'],
      ['qualification', bodies.qualification({ budget: false }), 'eve'],
      ['closing', bodies.lost(), 'eve'],
    ]);
    deal.imported = await drive(api, [
      ['capture', bodies.lead({ occurredAt: '2024-01-10T09:00:00Z' }), 'admin'],
      ['qualification', bodies.qualification({ occurredAt: '2024-02-01T09:00:00Z' }), 'admin'],
      ['proposals', bodies.proposal({ occurredAt: '2025-06-01T09:00:00Z' })],
    ]);
    await api.waitForProjections();
    const response = await api.request('GET', '/audit?limit=500', { as: 'auditor' });
    everything = response.body.entries;
  });

  afterAll(async () => {
    await api.close();
  });

  it('lists every change of every deal, oldest first, with who, when, what and from which request', async () => {
    expect(everything).toHaveLength(13);
    const positions = everything.map((entry) => Number(String(entry.position).split('/')[0]));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(everything.map((entry) => entry.actor)).toEqual(
      expect.arrayContaining([actors.sales, actors.admin, eve.actor]),
    );
    for (const entry of everything) {
      expect(Object.keys(entry).sort()).toEqual(
        [
          'actor', 'causationId', 'commandId', 'correlationId', 'data', 'dealId', 'eventId', 'hash', 'occurredAt',
          'position', 'previousHash', 'recordedAt', 'schemaVersion', 'type', 'version',
        ].sort(),
      );
      expect(entry.hash).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("agrees with each deal's own history, and chains each deal's entries from 64 zeros", async () => {
    for (const dealId of Object.values(deal)) {
      const history = await api.request('GET', `/deals/${dealId}/history`, { as: 'auditor' });
      const entries = everything.filter((entry) => entry.dealId === dealId);
      expect(entries.map(({ version, eventId, type, schemaVersion, occurredAt, recordedAt, actor, commandId, correlationId, causationId, data }) => ({
        version, eventId, type, schemaVersion, occurredAt, recordedAt, actor, commandId, correlationId, causationId, data,
      }))).toEqual(history.body.entries);
      expect(entries[0]!.previousHash).toBe('0'.repeat(64));
      for (let index = 1; index < entries.length; index++) expect(entries[index]!.previousHash).toBe(entries[index - 1]!.hash);
    }
  });

  it('says how far behind the event store the log is, in the body and in headers', async () => {
    const response = await api.request('GET', '/audit?limit=1', { as: 'auditor' });
    expect(response.body.projection).toEqual({ position: expect.stringMatching(/^\d+\/\d+$/), lagEvents: 0, lagMs: 0, caughtUp: true });
    expect(response.body.projection.position).toBe(everything.at(-1)!.position);
    expect(response.headers.get('x-projection-position')).toBe(response.body.projection.position);
    expect(response.headers.get('x-projection-lag-events')).toBe('0');
    expect(response.headers.get('x-projection-caught-up')).toBe('true');
  });

  const filters: ReadonlyArray<[string, () => Record<string, string>, (entry: Entry) => boolean]> = [
    ['actor', () => ({ actor: actors.admin }), (entry) => entry.actor === actors.admin],
    ['an actor that starts with @', () => ({ actor: eve.actor }), (entry) => entry.actor === eve.actor],
    ['deal', () => ({ dealId: deal.won }), (entry) => entry.dealId === deal.won],
    ['deal id in upper case', () => ({ dealId: deal.lost.toUpperCase() }), (entry) => entry.dealId === deal.lost],
    ['event type', () => ({ type: 'Qualified' }), (entry) => entry.type === 'Qualified'],
    ['recordedAt range', () => ({ from: everything[3]!.recordedAt, to: everything[9]!.recordedAt }), (entry) =>
      Date.parse(entry.recordedAt) >= Date.parse(everything[3]!.recordedAt) && Date.parse(entry.recordedAt) < Date.parse(everything[9]!.recordedAt)],
    ['occurredAt range (backdated import)', () => ({ timeField: 'occurredAt', from: '2024-01-01', to: '2025-01-01' }), (entry) =>
      entry.dealId === deal.imported && entry.version <= 1],
    ['actor and type', () => ({ actor: actors.sales, type: 'ProposalSent' }), (entry) => entry.actor === actors.sales && entry.type === 'ProposalSent'],
    ['deal, actor and time', () => ({ dealId: deal.won, actor: actors.sales, from: everything[1]!.recordedAt }), (entry) =>
      entry.dealId === deal.won && entry.actor === actors.sales && Date.parse(entry.recordedAt) >= Date.parse(everything[1]!.recordedAt)],
    ['type and occurredAt', () => ({ type: 'LeadCaptured', timeField: 'occurredAt', to: '2025-01-01' }), (entry) =>
      entry.type === 'LeadCaptured' && entry.dealId === deal.imported],
    ['a filter nothing matches', () => ({ actor: 'nobody.at.all' }), () => false],
  ];

  it.each(filters)('filters by %s, across pages of 2, exactly as filtering the full list would', async (_name, params, keep) => {
    const want = everything.filter(keep);
    const { entries } = await allPages(api, params(), 2);
    const byPosition = (list: Entry[]) => [...list].sort((a, b) => Number(a.position.split('/')[0]) - Number(b.position.split('/')[0]));
    expect(byPosition(entries)).toEqual(byPosition(want));
    if (want.length === 0) expect(entries).toEqual([]);
  });

  it('collects every entry exactly once and in order over pages of 3, the last page ending the set', async () => {
    const { entries, pages } = await allPages(api, {}, 3);
    expect(entries).toEqual(everything);
    expect(pages).toBe(Math.ceil(everything.length / 3));
  });

  it('refuses a cursor with filters other than those it was made for', async () => {
    const first = await api.request('GET', `/audit?${query({ actor: actors.sales, limit: 1 })}`, { as: 'auditor' });
    const response = await api.request('GET', `/audit?${query({ actor: actors.admin, limit: 1, cursor: first.body.nextCursor })}`, { as: 'auditor' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'cursor' }] });
  });

  describe('exports', () => {
    async function download(params: Record<string, string>): Promise<TestResponse> {
      const response = await api.request('GET', `/audit?${query(params)}`, { as: 'auditor' });
      expect(response.status).toBe(200);
      return response;
    }

    it('streams the filtered set as CSV (RFC 4180) that parses back to the same entries', async () => {
      const response = await download({ format: 'csv' });
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-\d{8}T\d{6}Z\.csv"$/);
      expect(response.headers.get('x-projection-position')).toBe(everything.at(-1)!.position);
      expect(csvToEntries(response.text)).toEqual(everything);
    });

    it('neutralises cells a spreadsheet would run as formulas, and keeps payload text quoted', async () => {
      const response = await download({ format: 'csv', actor: eve.actor });
      const [header, ...rows] = parseCsv(response.text);
      const actorColumn = header!.indexOf('actor');
      expect(rows.length).toBe(3);
      for (const row of rows) {
        expect(row[actorColumn]).toBe("'@eve");
        for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
      }
      const withFormula = await download({ format: 'csv', dealId: deal.won, type: 'ProposalSent' });
      expect(withFormula.text).toContain('""=HYPERLINK(');
    });

    it('streams the filtered set as JSON lines that parse back to the same entries', async () => {
      const response = await download({ format: 'jsonl', dealId: deal.won });
      expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-\d{8}T\d{6}Z\.jsonl"$/);
      const lines = response.text.split('\n');
      expect(lines.pop()).toBe('');
      expect(lines.map((line) => JSON.parse(line))).toEqual(everything.filter((entry) => entry.dealId === deal.won));
    });

    it('exports an empty set as a header-only CSV and an empty JSON lines file', async () => {
      expect(parseCsv((await download({ format: 'csv', actor: 'nobody.at.all' })).text)).toHaveLength(1);
      expect((await download({ format: 'jsonl', actor: 'nobody.at.all' })).text).toBe('');
    });
  });

  describe('roles', () => {
    it.each(['/audit', '/audit/verify', '/audit?format=csv'])('answers %s to auditor and admin, 403 to sales and analyst, 401 without a key', async (path) => {
      expect((await api.request('GET', path, { as: 'auditor' })).status).toBe(200);
      expect((await api.request('GET', path, { as: 'admin' })).status).toBe(200);
      for (const as of ['sales', 'analyst'] as const) {
        const response = await api.request('GET', path, { as });
        expect({ as, status: response.status, code: response.body?.code }).toEqual({ as, status: 403, code: 'FORBIDDEN' });
      }
      expect((await api.request('GET', path, { as: null })).status).toBe(401);
    });
  });

  it('is described in /docs/openapi.json with its parameters and bearer security', async () => {
    const document = (await api.request('GET', '/docs/openapi.json', { as: null })).body;
    const list = document.paths['/audit'].get;
    expect(list.parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual(
      ['actor', 'cursor', 'dealId', 'format', 'from', 'limit', 'timeField', 'to', 'type'],
    );
    expect(list.parameters.find((parameter: { name: string }) => parameter.name === 'limit').schema).toEqual({
      type: 'integer',
      minimum: 1,
      maximum: 500,
      default: 100,
    });
    expect(list.security).toEqual([{ bearer: [] }]);
    expect(document.paths['/audit/verify'].get.security).toEqual([{ bearer: [] }]);
    expect(document.paths['/audit/verify'].get.parameters ?? []).toEqual([]);
  });

  describe('hostile query strings', () => {
    const longCursor = 'A'.repeat(2000);
    it.each<[string, string, string | undefined]>([
      ['an unknown parameter', 'owner=jane', 'owner'],
      ['a parameter named after an Object.prototype member', 'constructor=x', undefined],
      ['__proto__', '__proto__=x', undefined],
      ['a bracketed parameter', 'actor[0]=x', undefined],
      ['limit 0', 'limit=0', 'limit'],
      ['limit 501', 'limit=501', 'limit'],
      ['a limit that is not a number', 'limit=ten', 'limit'],
      ['a fractional limit', 'limit=1.5', 'limit'],
      ['an empty limit', 'limit=', 'limit'],
      ['a limit with a sign', 'limit=%2B5', 'limit'],
      ['a deal id that is not a UUID', 'dealId=1%20OR%201%3D1', 'dealId'],
      ['an unknown event type', 'type=DealDeleted', 'type'],
      ['a time that is not ISO 8601', 'from=yesterday', 'from'],
      ['a day that does not exist', 'from=2026-02-30', 'from'],
      ['a date-time without a zone', 'to=2026-03-01T10:00:00', 'to'],
      ['to before from', 'from=2026-03-02&to=2026-03-01', 'to'],
      ['an unknown time field', 'timeField=createdAt', 'timeField'],
      ['an unknown format', 'format=xml', 'format'],
      ['a blank actor', 'actor=%20', 'actor'],
      ['an actor with a line break', 'actor=a%0Ab', 'actor'],
      ['an actor of 101 characters', `actor=${'a'.repeat(101)}`, 'actor'],
      ['a repeated actor', 'actor=a&actor=b', 'actor'],
      ['a cursor with foreign characters', 'cursor=%3Cscript%3E', 'cursor'],
      ['a cursor that is too long', `cursor=${longCursor}`, 'cursor'],
      ['a cursor this service did not make', `cursor=${Buffer.from('{"v":1,"k":"all","m":"x","s":1,"f":"forged"}').toString('base64url')}`, 'cursor'],
      ['a limit with an export', 'format=csv&limit=10', 'limit'],
      ['a cursor with an export', 'format=jsonl&cursor=abc', 'cursor'],
    ])('refuses %s with 400 VALIDATION_FAILED', async (_name, search, field) => {
      const response = await api.request('GET', `/audit?${search}`, { as: 'auditor' });
      expect({ status: response.status, code: response.body?.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      if (field) expect(response.body.details.map((detail: { field: string }) => detail.field)).toContain(field);
    });

    it('refuses unknown parameters on /audit/verify too', async () => {
      const response = await api.request('GET', '/audit/verify?repair=true', { as: 'auditor' });
      expect({ status: response.status, code: response.body?.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    });
  });
});

describe('GET /audit export of a large log', () => {
  let api: TestApp;
  const deals = 200;

  beforeAll(async () => {
    api = await startTestApp();
    const ids: string[] = [];
    // 32 at a time: enough to fill group commits, few enough not to queue for long.
    for (let start = 0; start < deals; start += 32) {
      const batch = Array.from({ length: Math.min(32, deals - start) }, (_, index) => start + index);
      ids.push(...(await Promise.all(batch.map(async (index) => {
        const as = index % 2 === 0 ? 'sales' : 'admin';
        const captured = await api.request('POST', '/deals', { as, body: bodies.lead({ title: `Deal ${index}` }) });
        const dealId: string = captured.body.dealId;
        for (const [path, body] of [['qualification', bodies.qualification()], ['proposals', bodies.proposal()], ['closing', bodies.lost()]] as const) {
          const response = await api.request('POST', `/deals/${dealId}/${path}`, { as, body });
          if (response.status !== 200) throw new Error(`${path}: ${response.status} ${response.text}`);
        }
        return dealId;
      }))));
    }
    expect(new Set(ids).size).toBe(deals);
    await api.waitForProjections();
  }, 120_000);

  afterAll(async () => {
    await api.close();
  });

  it('streams 800 entries in chunks, without a Content-Length, every entry once and in order', async () => {
    const response = await fetch(`${api.url}/audit?format=jsonl`, { headers: { authorization: `Bearer ${keys.auditor}` } });
    expect(response.status).toBe(200);
    // A body built in memory would be sent with its length; a stream goes out chunked.
    expect(response.headers.get('content-length')).toBeNull();
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let chunks = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks += 1;
      text += decoder.decode(value, { stream: true });
    }
    text += decoder.decode();
    expect(chunks).toBeGreaterThan(1);
    const entries = text.trimEnd().split('\n').map((line) => JSON.parse(line) as Entry);
    expect(entries).toHaveLength(deals * 4);
    const positions = entries.map((entry) => Number(entry.position.split('/')[0]));
    expect(new Set(positions).size).toBe(positions.length);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it('gives the same entries as CSV as the JSON pages do', async () => {
    const csv = await api.request('GET', '/audit?format=csv&actor=root.admin', { as: 'auditor' });
    const { entries } = await allPages(api, { actor: actors.admin }, 500);
    expect(entries).toHaveLength((deals / 2) * 4);
    expect(csvToEntries(csv.text)).toEqual(entries);
  });

  it('verifies every chain of the large log', async () => {
    const response = await api.request('GET', '/audit/verify', { as: 'auditor' });
    expect(response.body).toMatchObject({ ok: true, checkedEvents: deals * 4, checkedDeals: deals, unexpectedEntries: 0 });
  });
});

describe('GET /audit/verify', () => {
  let api: TestApp;
  let store: ReadModelStore;
  const deal: Record<'first' | 'second', string> = { first: '', second: '' };

  beforeAll(async () => {
    api = await startTestApp();
    store = api.app.get<ReadModelStore>(READ_MODEL_STORE);
    deal.first = await drive(api, [
      ['capture', bodies.lead()],
      ['qualification', bodies.qualification()],
      ['proposals', bodies.proposal()],
      ['negotiations', bodies.negotiation(), 'admin'],
    ]);
    deal.second = await drive(api, [
      ['capture', bodies.lead()],
      ['qualification', bodies.qualification()],
      ['proposals', bodies.proposal({ amount: 61000 })],
      ['closing', bodies.won({ finalAmount: 60000 })],
    ]);
    await api.waitForProjections();
  });

  afterAll(async () => {
    await api.close();
  });

  async function verify() {
    const response = await api.request('GET', '/audit/verify', { as: 'auditor' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-projection-position')).toBe(response.body.projection.position);
    return response.body;
  }

  async function entryOf(dealId: string, version: number): Promise<Entry> {
    const response = await api.request('GET', `/audit?${query({ dealId })}`, { as: 'auditor' });
    return response.body.entries.find((entry: Entry) => entry.version === version);
  }

  /** SQL straight on the event store's file, as someone with access to the disk could. */
  function sql<T = unknown>(statement: string, ...params: unknown[]): T {
    const db = new Database(join(api.dataDir, 'events.sqlite'));
    try {
      const prepared = db.prepare(statement);
      return (prepared.reader ? prepared.get(...params) : prepared.run(...params)) as T;
    } finally {
      db.close();
    }
  }

  it('finds every chain intact, and says how much it checked and how far behind the log is', async () => {
    expect(await verify()).toEqual({
      ok: true,
      checkedEvents: 8,
      checkedDeals: 2,
      checkedUpTo: expect.stringMatching(/^\d+\/\d+$/),
      unexpectedEntries: 0,
      projection: { position: expect.stringMatching(/^\d+\/\d+$/), lagEvents: 0, lagMs: 0, caughtUp: true },
    });
  });

  it('reports an event altered in the SQLite file as the first broken link, at exactly that deal and version', async () => {
    const entry = await entryOf(deal.second, 2);
    const stream = `deal-${deal.second}`;
    const { data } = sql<{ data: string }>('SELECT data FROM events WHERE stream_id = ? AND revision = 2', stream);
    sql(`UPDATE events SET data = json_set(data, '$.amount.amount', 1) WHERE stream_id = ? AND revision = 2`, stream);
    try {
      const report = await verify();
      expect(report.ok).toBe(false);
      expect(report.firstBrokenLink).toEqual({
        dealId: deal.second,
        version: 2,
        eventId: entry.eventId,
        position: entry.position,
        expectedHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        storedHash: entry.hash,
        reason: 'event-altered',
      });
      expect(report.firstBrokenLink.expectedHash).not.toBe(entry.hash);
    } finally {
      sql('UPDATE events SET data = ? WHERE stream_id = ? AND revision = 2', data, stream);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('reports an audit entry altered in the read model', async () => {
    const entry = await entryOf(deal.first, 3);
    const id = entryId(parsePosition(entry.position));
    const stored = await store.get('audit:entry', id);
    expect(stored).toEqual(entry);
    const checkpoint = (await store.checkpoint('audit'))!;
    // Through the port, with the checkpoint unchanged: the runner is idle and caught up.
    await store.commit('audit', [{ kind: 'put', collection: 'audit:entry', id, document: { ...entry, actor: 'someone.else' } }], checkpoint);

    const report = await verify();

    expect(report.ok).toBe(false);
    expect(report.firstBrokenLink).toMatchObject({ dealId: deal.first, version: 3, reason: 'entry-altered', storedHash: entry.hash });
  });
});
