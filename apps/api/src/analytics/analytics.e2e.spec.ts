import { bodies, startTestApp, type TestApp } from '../testing/test-app';

/**
 * GET /analytics/cycle-length over a real socket. The deals are history imported today with
 * backdated business times in early 2025: every figure below is measured in business time, so
 * it would be wrong (all zero days) if recordedAt were used. Times are 09:00 UTC on the day given.
 *
 * | deal | owner | source  | history                                                                        | end            | value      |
 * | A1   | ann   | ads     | captured 01-06, qualified 01-08, proposal 01-10, negotiated 01-15,             | won 01-26      | EUR 9 000  |
 * |      |       |         | revised proposal 01-18 (re-enters proposal)                                    |                |            |
 * | A2   | ann   | partner | captured 01-10, qualified 01-11, proposal 01-13                                | won 01-20      | EUR 6 000  |
 * | A3   | ben   | ads     | captured 02-03, qualified 02-05                                                | lost 02-10     | EUR 8 000  |
 * | A4   | ben   | ads     | captured 02-10                                                                 | open (lead)    | EUR 4 000  |
 *
 * Cycle lengths: A1 01-06 → 01-26 = 20 days, A2 01-10 → 01-20 = 10 days.
 */

const on = (month: number, day: number): string => new Date(Date.UTC(2025, month - 1, day, 9)).toISOString();

let api: TestApp;

async function post(path: string, body: unknown): Promise<{ dealId: string }> {
  const response = await api.request('POST', path, { body });
  if (response.status !== 200 && response.status !== 201) throw new Error(`${path} answered ${response.status}: ${response.text}`);
  return response.body;
}

async function capture(owner: string, source: string, amount: number, occurredAt: string): Promise<string> {
  return (await post('/deals', bodies.lead({ owner, source, estimatedValue: { amount, currency: 'EUR' }, occurredAt }))).dealId;
}

beforeAll(async () => {
  api = await startTestApp();
  const a1 = await capture('ann', 'ads', 10_000, on(1, 6));
  await post(`/deals/${a1}/qualification`, bodies.qualification({ occurredAt: on(1, 8) }));
  await post(`/deals/${a1}/proposals`, bodies.proposal({ amount: 10_000, occurredAt: on(1, 10) }));
  await post(`/deals/${a1}/negotiations`, bodies.negotiation({ counterAmount: 9_500, occurredAt: on(1, 15) }));
  await post(`/deals/${a1}/proposals`, bodies.proposal({ amount: 9_000, occurredAt: on(1, 18) }));
  await post(`/deals/${a1}/closing`, bodies.won({ finalAmount: 9_000, occurredAt: on(1, 26) }));

  const a2 = await capture('ann', 'partner', 5_000, on(1, 10));
  await post(`/deals/${a2}/qualification`, bodies.qualification({ occurredAt: on(1, 11) }));
  await post(`/deals/${a2}/proposals`, bodies.proposal({ amount: 5_000, occurredAt: on(1, 13) }));
  await post(`/deals/${a2}/closing`, bodies.won({ finalAmount: 6_000, occurredAt: on(1, 20) }));
  await post(`/deals/${a2}/follow-ups`, bodies.followUp({ occurredAt: on(2, 1) }));

  const a3 = await capture('ben', 'ads', 8_000, on(2, 3));
  await post(`/deals/${a3}/qualification`, bodies.qualification({ occurredAt: on(2, 5) }));
  await post(`/deals/${a3}/closing`, bodies.lost({ occurredAt: on(2, 10) }));

  await capture('ben', 'ads', 4_000, on(2, 10));
  await api.waitForProjections();
}, 30_000);

afterAll(async () => {
  await api.close();
});

const get = async (query = '', as: 'sales' | 'analyst' | 'admin' | 'auditor' = 'analyst') => api.request('GET', `/analytics/cycle-length${query}`, { as });

describe('GET /analytics/cycle-length', () => {
  it('cohort of every deal, as of now: counts, win rates, cycle length; and how far behind it is', async () => {
    const { status, body } = await get();
    expect(status).toBe(200);
    expect(body).toEqual(
      expect.objectContaining({
        basis: 'cohort',
        groupBy: null,
        from: null,
        to: null,
        won: 2,
        lost: 1,
        open: 1,
        // 2 / 3; EUR (9 000 + 6 000) / (15 000 + 8 000) = 0.652173…
        winRate: { byCount: 0.6667, byValue: { EUR: 0.6522 } },
        // 10 and 20 days: mean 15, median 15, p90 at rank 0.9: 10 + 0.9 × 10
        cycleLength: { count: 2, meanDays: 15, medianDays: 15, p90Days: 19 },
        groups: [],
        projection: { position: expect.stringMatching(/^\d+\/\d+$/), lagEvents: 0, lagMs: 0, caughtUp: true },
      }),
    );
    expect(Date.now() - Date.parse(body.asOf)).toBeLessThan(60_000);
  });

  it('conversion with a skipped stage counted as passed, and time in stage over completed stints', async () => {
    const { body } = await get();
    // Reached: lead 4; qualified 3 (A1 A2 A3); proposal 2; negotiation-or-later 2 (A1 negotiated, A2 won from proposal); won 2.
    expect(body.stages.map(({ stage, reached, conversion }: { stage: string; reached: number; conversion: object }) => ({ stage, reached, ...conversion }))).toEqual([
      { stage: 'lead', reached: 4, next: 'qualified', nextStep: 0.75, cumulative: 1 }, // 3 / 4
      { stage: 'qualified', reached: 3, next: 'proposal', nextStep: 0.6667, cumulative: 0.75 }, // 2 / 3
      { stage: 'proposal', reached: 2, next: 'negotiation', nextStep: 1, cumulative: 0.5 }, // 2 / 2; 0.75 × 2/3
      { stage: 'negotiation', reached: 2, next: 'won', nextStep: 1, cumulative: 0.5 },
      { stage: 'won', reached: 2, next: null, nextStep: null, cumulative: 0.5 },
    ]);
    // lead: A1 2, A2 1, A3 2 days; A4 still in lead
    expect(body.stages[0].timeInStage).toEqual({
      cumulative: { count: 3, meanDays: 1.67, medianDays: 2, p90Days: 2 }, // 5 / 3; sorted 1 2 2
      latestStint: { count: 3, meanDays: 1.67, medianDays: 2, p90Days: 2 },
      stillInStage: 1,
    });
    // proposal: A1 01-10→01-15 (5) and 01-18→01-26 (8): cumulative 13, latest 8; A2 01-13→01-20: 7
    expect(body.stages[2].timeInStage).toEqual({
      cumulative: { count: 2, meanDays: 10, medianDays: 10, p90Days: 12.4 }, // 7, 13: 7 + 0.9 × 6
      latestStint: { count: 2, meanDays: 7.5, medianDays: 7.5, p90Days: 7.9 }, // 7, 8: 7 + 0.9 × 1
      stillInStage: 0,
    });
    // negotiation: A1 01-15→01-18
    expect(body.stages[3].timeInStage.cumulative).toEqual({ count: 1, meanDays: 3, medianDays: 3, p90Days: 3 });
    expect(body.stages[4].timeInStage).toBeNull();
  });

  it('sales velocity per currency', async () => {
    const { body } = await get();
    // 1 open (A4) × average won 7 500 × win rate 2/3 ÷ 15 days = 333.33 per day
    expect(body.velocity).toEqual({ EUR: { openDeals: 1, averageWonValue: 7_500, winRate: 0.6667, averageCycleDays: 15, perDay: 333.33 } });
  });

  it('groups by owner, source or capture month', async () => {
    const byOwner = (await get('?groupBy=owner')).body;
    expect(byOwner.groups.map(({ key, won, lost, open }: Record<string, unknown>) => ({ key, won, lost, open }))).toEqual([
      { key: 'ann', won: 2, lost: 0, open: 0 },
      { key: 'ben', won: 0, lost: 1, open: 1 },
    ]);
    const bySource = (await get('?groupBy=source')).body;
    expect(bySource.groups.map(({ key, won, lost, open }: Record<string, unknown>) => ({ key, won, lost, open }))).toEqual([
      { key: 'ads', won: 1, lost: 1, open: 1 },
      { key: 'partner', won: 1, lost: 0, open: 0 },
    ]);
    const byMonth = (await get('?groupBy=month')).body;
    expect(byMonth.groups.map(({ key, won, cycleLength }: { key: string; won: number; cycleLength: { meanDays: number } }) => ({ key, won, mean: cycleLength.meanDays }))).toEqual([
      { key: '2025-01', won: 2, mean: 15 },
      { key: '2025-02', won: 0, mean: null },
    ]);
  });

  it('asOf answers as the numbers stood then, from events up to and including it', async () => {
    // 2025-01-20T09:00Z: A2 won that instant; A1 is in its second proposal stint; A3 and A4 not yet captured.
    const { body } = await get(`?asOf=${on(1, 20)}`);
    expect({ won: body.won, lost: body.lost, open: body.open, cycleLength: body.cycleLength }).toEqual({
      won: 1,
      lost: 0,
      open: 1,
      cycleLength: { count: 1, meanDays: 10, medianDays: 10, p90Days: 10 },
    });
    expect(body.asOf).toBe('2025-01-20T09:00:00.000Z');
    // A date alone is midnight UTC: A2 had not been won yet.
    expect((await get('?asOf=2025-01-20')).body.won).toBe(0);
  });

  it('cohort basis takes the deals captured in [from, to)', async () => {
    const { body } = await get('?basis=cohort&from=2025-02-01&to=2025-03-01');
    expect({ won: body.won, lost: body.lost, open: body.open, from: body.from, to: body.to }).toEqual({
      won: 0,
      lost: 1,
      open: 1,
      from: '2025-02-01T00:00:00.000Z',
      to: '2025-03-01T00:00:00.000Z',
    });
  });

  it('period basis counts what happened in [from, to), whenever the deal was captured', async () => {
    // 01-15 to 02-01: A2 won 01-20 and A1 won 01-26; nothing lost; nothing open on 01-31 (A3, A4 come in February).
    const { body } = await get('?basis=period&from=2025-01-15&to=2025-02-01');
    expect({ basis: body.basis, won: body.won, lost: body.lost, open: body.open, cycleLength: body.cycleLength }).toEqual({
      basis: 'period',
      won: 2,
      lost: 0,
      open: 0,
      cycleLength: { count: 2, meanDays: 15, medianDays: 15, p90Days: 19 },
    });
  });

  it('is for sales and analysts (and admin); an auditor gets 403', async () => {
    for (const as of ['sales', 'analyst', 'admin'] as const) expect((await get('', as)).status).toBe(200);
    const auditor = await get('', 'auditor');
    expect({ status: auditor.status, code: auditor.body.code }).toEqual({ status: 403, code: 'FORBIDDEN' });
  });

  describe('refuses hostile query parameters with 400 VALIDATION_FAILED naming the field', () => {
    it.each([
      ['basis=both', 'basis'],
      ['basis=', 'basis'],
      ['groupBy=team', 'groupBy'],
      ['groupBy=owner&groupBy=source', 'groupBy'],
      ['from=yesterday', 'from'],
      ['from=2025-02-30', 'from'],
      ['to=2025-13-01', 'to'],
      ['asOf=1969-12-31', 'asOf'],
      ['asOf=2999-01-01', 'asOf'],
      ['from=2025-02-01&to=2025-02-01', 'to'],
      ['from=2025-03-01&to=2025-02-01', 'to'],
      ['currency=EUR', 'currency'],
      ['limit=10', 'limit'],
      ['__proto__=1', '__proto__'],
      ['constructor=x', 'constructor'],
    ])('%s', async (query, field) => {
      const response = await get(`?${query}`);
      expect({ status: response.status, code: response.body?.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(response.body.details.map((detail: { field: string }) => detail.field)).toContain(field);
    });
  });
});

describe('GET /analytics/cycle-length asked again (answers are remembered per checkpoint)', () => {
  let fresh: TestApp;
  afterAll(async () => fresh?.close());

  it('answers the same question anew once a command has moved the projection', async () => {
    fresh = await startTestApp();
    const ask = async () => (await fresh.request('GET', '/analytics/cycle-length?groupBy=owner', { as: 'analyst' })).body as { open: number; groups: Array<{ key: string; open: number }> };
    const capture = async (owner: string) => {
      const response = await fresh.request('POST', '/deals', { body: bodies.lead({ owner, occurredAt: on(3, 1) }) });
      expect(response.status).toBe(201);
      await fresh.waitForProjections();
    };
    await capture('ann');
    expect(await ask()).toEqual(expect.objectContaining({ open: 1, groups: [expect.objectContaining({ key: 'ann', open: 1 })] }));
    expect(await ask()).toEqual(expect.objectContaining({ open: 1 }));
    await capture('ben');
    const after = await ask();
    expect(after.open).toBe(2);
    expect(after.groups.map((group) => [group.key, group.open])).toEqual([
      ['ann', 1],
      ['ben', 1],
    ]);
  });
});

describe('GET /analytics/cycle-length about a past period asked again (remembered until an event arrives late)', () => {
  let fresh: TestApp;
  afterAll(async () => fresh?.close());

  it('answers from what happened by the period\'s end, and counts history backdated into it once it is written', async () => {
    fresh = await startTestApp();
    const ask = async () => (await fresh.request('GET', '/analytics/cycle-length?basis=period&from=2025-01-01&to=2025-02-01', { as: 'analyst' })).body as { lost: number };
    const lostDeal = async (captured: string, lost: string) => {
      const { dealId } = (await fresh.request('POST', '/deals', { body: bodies.lead({ occurredAt: captured }) })).body as { dealId: string };
      expect((await fresh.request('POST', `/deals/${dealId}/closing`, { body: bodies.lost({ occurredAt: lost }) })).status).toBe(200);
      await fresh.waitForProjections();
    };
    // Given a deal lost in the period, and the projection's clock well past the period's end
    await lostDeal(on(1, 6), on(1, 20));
    await lostDeal(on(3, 1), on(3, 9));
    expect(await ask()).toEqual(expect.objectContaining({ lost: 1 }));
    // When commands keep arriving after the period, then the answer stands
    await lostDeal(on(3, 10), on(3, 12));
    expect(await ask()).toEqual(expect.objectContaining({ lost: 1 }));
    // When a deal lost inside the period is written late, then the next answer counts it
    await lostDeal(on(1, 8), on(1, 22));
    expect(await ask()).toEqual(expect.objectContaining({ lost: 2 }));
  });
});
