import { bodies, startTestApp, type TestApp } from '../testing/test-app';

/**
 * GET /pipeline over a real socket, against deals driven through the command API with backdated
 * business times relative to now. Default stage probabilities (lead 0.1, qualified 0.25, proposal
 * 0.5, negotiation 0.7, won 1, lost 0) and rotting limits (lead 14, qualified 21, proposal 30,
 * negotiation 21 days).
 *
 * | deal | owner | source | history (days ago)                                    | stage       | value      | own % | rotting      |
 * | P1   | olga  | fair   | captured 40                                           | lead        | EUR 10 000 | –     | yes (40 > 14)|
 * | P2   | olga  | web    | captured 10, qualified 9, proposal 8 (80 %)           | proposal    | EUR 20 000 | 80    | no (8 < 30)  |
 * | P3   | piet  | web    | captured 30, qualified 29, proposal 28, counter 25    | negotiation | USD  4 000 | –     | yes (25 > 21)|
 * | P4   | piet  | fair   | captured 20, qualified 19, proposal 18, won 5         | won         | EUR  7 500 | –     | never        |
 * | P5   | olga  | web    | captured 3, lost 2                                    | lost        | EUR  1 000 | –     | never        |
 */

const daysAgo = (days: number): string => new Date(Date.now() - days * 86_400_000).toISOString();

let api: TestApp;
const ids: Record<string, string> = {};

async function post(path: string, body: unknown): Promise<{ dealId: string }> {
  const response = await api.request('POST', path, { body });
  if (response.status !== 200 && response.status !== 201) throw new Error(`${path} answered ${response.status}: ${response.text}`);
  return response.body;
}

async function capture(name: string, owner: string, source: string, amount: number, currency: string, ago: number): Promise<string> {
  const { dealId } = await post('/deals', bodies.lead({ owner, source, estimatedValue: { amount, currency }, occurredAt: daysAgo(ago) }));
  ids[name] = dealId;
  return dealId;
}

beforeAll(async () => {
  api = await startTestApp();
  await capture('P1', 'olga', 'fair', 10_000, 'EUR', 40);

  const p2 = await capture('P2', 'olga', 'web', 15_000, 'EUR', 10);
  await post(`/deals/${p2}/qualification`, bodies.qualification({ occurredAt: daysAgo(9) }));
  await post(`/deals/${p2}/proposals`, bodies.proposal({ amount: 20_000, currency: 'EUR', winProbability: 80, occurredAt: daysAgo(8) }));

  const p3 = await capture('P3', 'piet', 'web', 6_000, 'USD', 30);
  await post(`/deals/${p3}/qualification`, bodies.qualification({ occurredAt: daysAgo(29) }));
  await post(`/deals/${p3}/proposals`, bodies.proposal({ amount: 5_000, currency: 'USD', occurredAt: daysAgo(28) }));
  await post(`/deals/${p3}/negotiations`, bodies.negotiation({ counterAmount: 4_000, occurredAt: daysAgo(25) }));

  const p4 = await capture('P4', 'piet', 'fair', 7_000, 'EUR', 20);
  await post(`/deals/${p4}/qualification`, bodies.qualification({ occurredAt: daysAgo(19) }));
  await post(`/deals/${p4}/proposals`, bodies.proposal({ amount: 8_000, currency: 'EUR', occurredAt: daysAgo(18) }));
  await post(`/deals/${p4}/closing`, bodies.won({ finalAmount: 7_500, occurredAt: daysAgo(5) }));

  const p5 = await capture('P5', 'olga', 'web', 1_000, 'EUR', 3);
  await post(`/deals/${p5}/closing`, bodies.lost({ occurredAt: daysAgo(2) }));

  await api.waitForProjections();
}, 30_000);

afterAll(async () => {
  await api.close();
});

const listed = (body: { deals: { items: Array<{ dealId: string }> } }) => body.deals.items.map((item) => Object.keys(ids).find((name) => ids[name] === item.dealId));

describe('GET /pipeline', () => {
  it('per stage: count, total value and weighted value per currency, with rotting counts, and says how far behind it is', async () => {
    const response = await api.request('GET', '/pipeline', { as: 'analyst' });
    expect(response.status).toBe(200);
    expect(response.body.stages).toEqual([
      // P1 10 000 × 0.1
      { stage: 'lead', count: 1, totalValue: { EUR: 10_000 }, weightedValue: { EUR: 1_000 }, probability: 0.1, rotting: { limitDays: 14, count: 1 } },
      { stage: 'qualified', count: 0, totalValue: {}, weightedValue: {}, probability: 0.25, rotting: { limitDays: 21, count: 0 } },
      // P2 20 000 × own 80 %
      { stage: 'proposal', count: 1, totalValue: { EUR: 20_000 }, weightedValue: { EUR: 16_000 }, probability: 0.5, rotting: { limitDays: 30, count: 0 } },
      // P3 counter 4 000 × 0.7
      { stage: 'negotiation', count: 1, totalValue: { USD: 4_000 }, weightedValue: { USD: 2_800 }, probability: 0.7, rotting: { limitDays: 21, count: 1 } },
      { stage: 'won', count: 1, totalValue: { EUR: 7_500 }, weightedValue: { EUR: 7_500 }, probability: 1, rotting: null },
      { stage: 'lost', count: 1, totalValue: { EUR: 1_000 }, weightedValue: { EUR: 0 }, probability: 0, rotting: null },
    ]);
    // 10 000 + 20 000; 1 000 + 16 000
    expect(response.body.open).toEqual({ count: 3, totalValue: { EUR: 30_000, USD: 4_000 }, weightedValue: { EUR: 17_000, USD: 2_800 } });
    expect(response.body.projection).toEqual({ position: expect.stringMatching(/^\d+\/\d+$/), lagEvents: 0, lagMs: 0, caughtUp: true });
    expect(response.headers.get('x-projection-caught-up')).toBe('true');
  });

  it('lists the open deals by stage, stalest first, flagging the rotting ones', async () => {
    const { body } = await api.request('GET', '/pipeline');
    expect(listed(body)).toEqual(['P1', 'P2', 'P3']);
    expect(body.deals.items.map((item: { rotting: boolean }) => item.rotting)).toEqual([true, false, true]);
    expect(body.deals.items[1]).toEqual({
      dealId: ids['P2'],
      title: 'Analytics platform rollout',
      organization: 'Acme Corp',
      owner: 'olga',
      source: 'web',
      stage: 'proposal',
      value: { amount: 20_000, currency: 'EUR' },
      winProbability: 80,
      probability: 0.8,
      weightedValue: 16_000,
      capturedAt: expect.any(String),
      lastActivityAt: expect.any(String),
      rotting: false,
    });
    expect(body.deals.nextCursor).toBeNull();
  });

  it('rotting=true lists only deals idle for longer than their stage’s limit', async () => {
    const { body } = await api.request('GET', '/pipeline?rotting=true');
    expect(listed(body)).toEqual(['P1', 'P3']);
  });

  it('filters by owner, by source and by both, in totals and list alike', async () => {
    const olga = (await api.request('GET', '/pipeline?owner=olga')).body;
    expect(olga.open).toEqual({ count: 2, totalValue: { EUR: 30_000 }, weightedValue: { EUR: 17_000 } });
    expect(olga.stages.find((stage: { stage: string }) => stage.stage === 'lost')).toEqual(expect.objectContaining({ count: 1, totalValue: { EUR: 1_000 } }));
    expect(listed(olga)).toEqual(['P1', 'P2']);

    const web = (await api.request('GET', '/pipeline?source=web')).body;
    expect(web.open).toEqual({ count: 2, totalValue: { EUR: 20_000, USD: 4_000 }, weightedValue: { EUR: 16_000, USD: 2_800 } });

    const both = (await api.request('GET', '/pipeline?owner=olga&source=web')).body;
    expect(listed(both)).toEqual(['P2']);
    expect(both.filters).toEqual({ owner: 'olga', source: 'web', stage: null, rotting: false });
  });

  it('a stage filter narrows the totals to that stage and lists closed deals when asked', async () => {
    const { body } = await api.request('GET', '/pipeline?stage=won');
    expect(body.stages).toEqual([expect.objectContaining({ stage: 'won', count: 1 })]);
    expect(listed(body)).toEqual(['P4']);
    expect(body.deals.items[0].rotting).toBe(false);
  });

  it('pages through the list with an opaque cursor until nextCursor is null', async () => {
    const pages: Array<Array<string | undefined>> = [];
    let path = '/pipeline?limit=1';
    for (;;) {
      const { status, body } = await api.request('GET', path);
      expect(status).toBe(200);
      pages.push(listed(body));
      if (body.deals.nextCursor === null) break;
      expect(body.deals.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
      path = `/pipeline?limit=1&cursor=${body.deals.nextCursor}`;
    }
    expect(pages).toEqual([['P1'], ['P2'], ['P3']]);
  });

  it('is for sales and analysts (and admin); an auditor gets 403 and no key 401', async () => {
    for (const as of ['sales', 'analyst', 'admin'] as const) expect((await api.request('GET', '/pipeline', { as })).status).toBe(200);
    const auditor = await api.request('GET', '/pipeline', { as: 'auditor' });
    expect({ status: auditor.status, code: auditor.body.code }).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect((await api.request('GET', '/pipeline', { as: null })).status).toBe(401);
  });

  describe('refuses hostile query parameters with 400 VALIDATION_FAILED naming the field', () => {
    it.each([
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=1.5', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1e2', 'limit'],
      ['limit=', 'limit'],
      ['stage=closed', 'stage'],
      ['stage=LEAD', 'stage'],
      ['rotting=yes', 'rotting'],
      ['rotting=1', 'rotting'],
      ['owner=', 'owner'],
      ['owner=%20%20', 'owner'],
      ['owner=a&owner=b', 'owner'],
      [`owner=${'x'.repeat(101)}`, 'owner'],
      ['source=line%0Abreak', 'source'],
      ['cursor=not%20base64!', 'cursor'],
      ['cursor=abc', 'cursor'],
      [`cursor=${'A'.repeat(1025)}`, 'cursor'],
      ['sort=owner', 'sort'],
      ['__proto__=1', '__proto__'],
      ['constructor=x', 'constructor'],
    ])('%s', async (query, field) => {
      const response = await api.request('GET', `/pipeline?${query}`);
      expect({ status: response.status, code: response.body?.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(response.body.details.map((detail: { field: string }) => detail.field)).toContain(field);
    });

    it.each(['0', '201', '-1', '1.5', 'abc', '1e2', ''])('limit=%s with one problem that says the range', async (limit) => {
      const response = await api.request('GET', `/pipeline?limit=${limit}`);
      expect(response.body.details).toEqual([{ field: 'limit', problems: ['limit must be a whole number from 1 to 200'] }]);
    });

    it('a parameter given twice, with one problem that says so', async () => {
      const response = await api.request('GET', '/pipeline?owner=a&owner=b&limit=5');
      expect(response.body.details).toEqual([{ field: 'owner', problems: ['owner must be given once'] }]);
      const unknown = await api.request('GET', '/pipeline?sort=a&sort=b');
      expect(unknown.body.details).toEqual([{ field: 'sort', problems: ['property sort should not exist'] }]);
    });

    it('a cursor issued for other filters', async () => {
      const first = await api.request('GET', '/pipeline?limit=1');
      const response = await api.request('GET', `/pipeline?limit=1&owner=piet&cursor=${first.body.deals.nextCursor}`);
      expect({ status: response.status, code: response.body.code, details: response.body.details }).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
        details: [{ field: 'cursor', problems: [expect.stringMatching(/other filters/)] }],
      });
    });
  });
});
