import { actors, bodies, startTestApp, type TestApp } from '../testing/test-app';

describe('Deal lifecycle over HTTP', () => {
  let api: TestApp;
  beforeAll(async () => {
    api = await startTestApp();
  });
  afterAll(async () => {
    await api.close();
  });

  async function capture(overrides: Record<string, unknown> = {}): Promise<string> {
    const response = await api.request('POST', '/deals', { body: bodies.lead(overrides) });
    expect(response.status).toBe(201);
    return response.body.dealId;
  }

  async function step(dealId: string, path: string, body: unknown, expected: { version: number; stage: string }) {
    const response = await api.request('POST', `/deals/${dealId}/${path}`, { body });
    expect({ status: response.status, body: response.body }).toEqual({
      status: 200,
      body: { dealId, ...expected },
    });
    expect(response.headers.get('etag')).toBe(`"${expected.version}"`);
  }

  it('captures a lead: 201 with id, version 0 and stage lead, a Location and an ETag', async () => {
    const response = await api.request('POST', '/deals', { body: bodies.lead() });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ dealId: expect.stringMatching(/^[0-9a-f-]{36}$/), version: 0, stage: 'lead' });
    expect(response.headers.get('location')).toBe(`/deals/${response.body.dealId}`);
    expect(response.headers.get('etag')).toBe('"0"');
  });

  it('wins a deal after several rounds of negotiation and a revised proposal, then follows up', async () => {
    const dealId = await capture();
    await step(dealId, 'qualification', bodies.qualification(), { version: 1, stage: 'qualified' });
    await step(dealId, 'proposals', bodies.proposal({ amount: 52000 }), { version: 2, stage: 'proposal' });
    await step(dealId, 'negotiations', bodies.negotiation({ counterAmount: 45000 }), { version: 3, stage: 'negotiation' });
    await step(dealId, 'negotiations', bodies.negotiation({ counterAmount: 47000, discountPercent: 5 }), {
      version: 4,
      stage: 'negotiation',
    });
    await step(dealId, 'proposals', bodies.proposal({ amount: 49000 }), { version: 5, stage: 'proposal' });
    await step(dealId, 'negotiations', { notes: 'final terms agreed' }, { version: 6, stage: 'negotiation' });
    await step(dealId, 'closing', bodies.won({ finalAmount: 49500 }), { version: 7, stage: 'won' });
    await step(dealId, 'follow-ups', bodies.followUp(), { version: 8, stage: 'won' });
    await step(dealId, 'follow-ups', bodies.followUp({ channel: 'meeting' }), { version: 9, stage: 'won' });

    const deal = await api.request('GET', `/deals/${dealId}`);
    expect(deal.status).toBe(200);
    expect(deal.headers.get('etag')).toBe('"9"');
    expect(deal.body).toMatchObject({
      dealId,
      stage: 'won',
      version: 9,
      title: 'Analytics platform rollout',
      organization: 'Acme Corp',
      owner: 'jane.doe',
      source: 'referral',
      value: { amount: 49500, currency: 'EUR' },
      proposals: 2,
      negotiationRounds: 3,
      outcome: 'won',
      followUps: 2,
    });
  });

  it.each([
    ['lead', []],
    ['qualified', ['qualification']],
    ['proposal', ['qualification', 'proposals']],
    ['negotiation', ['qualification', 'proposals', 'negotiations']],
  ] as const)('loses a deal from stage %s', async (stage, path) => {
    const dealId = await capture();
    const stepBodies = { qualification: bodies.qualification(), proposals: bodies.proposal(), negotiations: bodies.negotiation() };
    for (const [index, route] of path.entries()) {
      const response = await api.request('POST', `/deals/${dealId}/${route}`, { body: stepBodies[route] });
      expect(response.status).toBe(200);
      expect(response.body.version).toBe(index + 1);
    }
    expect((await api.request('GET', `/deals/${dealId}`)).body.stage).toBe(stage);
    await step(dealId, 'closing', bodies.lost(), { version: path.length + 1, stage: 'lost' });
    await step(dealId, 'follow-ups', bodies.followUp(), { version: path.length + 2, stage: 'lost' });
  });

  it('refuses illegal stage moves with 409 and a stable code, and appends nothing', async () => {
    const dealId = await capture();
    const refusals: Array<[string, unknown, string]> = [
      ['proposals', bodies.proposal(), 'NOT_QUALIFIED'],
      ['negotiations', bodies.negotiation(), 'NO_PROPOSAL'],
      ['closing', bodies.won(), 'NO_PROPOSAL'],
      ['follow-ups', bodies.followUp(), 'DEAL_NOT_CLOSED'],
    ];
    for (const [route, body, code] of refusals) {
      const response = await api.request('POST', `/deals/${dealId}/${route}`, { body });
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 409, code });
      expect(response.body).toEqual({ statusCode: 409, code, message: expect.any(String), details: expect.anything() });
    }
    await step(dealId, 'closing', bodies.lost(), { version: 1, stage: 'lost' });
    const closed = await api.request('POST', `/deals/${dealId}/qualification`, { body: bodies.qualification() });
    expect({ status: closed.status, code: closed.body.code }).toEqual({ status: 409, code: 'DEAL_CLOSED' });
    const history = await api.request('GET', `/deals/${dealId}/history`);
    expect(history.body.entries.map((entry: { type: string }) => entry.type)).toEqual(['LeadCaptured', 'Closed']);
  });

  it('refuses a win without finalAmount, saying it is required when won; a loss needs none', async () => {
    const dealId = await capture();
    const { finalAmount: _left, ...withoutAmount } = bodies.won();
    const response = await api.request('POST', `/deals/${dealId}/closing`, { body: withoutAmount });
    expect(response.status).toBe(400);
    expect(response.body.details).toEqual([{ field: 'finalAmount', problems: [expect.stringMatching(/^finalAmount is required when the outcome is won: /)] }]);
    const wrong = await api.request('POST', `/deals/${dealId}/closing`, { body: bodies.won({ finalAmount: 'lots' }) });
    expect(wrong.body.details).toEqual([{ field: 'finalAmount', problems: [expect.stringMatching(/^finalAmount must be a number/)] }]);
    await step(dealId, 'closing', bodies.lost(), { version: 1, stage: 'lost' });
  });

  it('keeps an audit history with who, when and from which request, oldest first', async () => {
    const dealId = await capture({ occurredAt: '2025-01-10T09:00:00Z' });
    const correlationId = 'import-batch-42';
    const qualified = await api.request('POST', `/deals/${dealId}/qualification`, {
      body: bodies.qualification({ notes: 'Budget approved', occurredAt: '2025-01-12T10:30:00+01:00' }),
      headers: { 'x-correlation-id': correlationId },
    });
    expect(qualified.headers.get('x-correlation-id')).toBe(correlationId);

    const history = await api.request('GET', `/deals/${dealId}/history`, { as: 'auditor' });
    expect(history.status).toBe(200);
    expect(history.body.dealId).toBe(dealId);
    const [captured, qualification] = history.body.entries;
    expect(captured).toMatchObject({
      version: 0,
      type: 'LeadCaptured',
      actor: actors.sales,
      occurredAt: '2025-01-10T09:00:00.000Z',
      data: { dealId, title: 'Analytics platform rollout', estimatedValue: { amount: 48000, currency: 'EUR' } },
    });
    expect(qualification).toMatchObject({
      version: 1,
      type: 'Qualified',
      actor: actors.sales,
      correlationId,
      occurredAt: '2025-01-12T09:30:00.000Z',
      data: { budget: true, authority: true, need: true, timeline: false, notes: 'Budget approved' },
    });
    for (const entry of history.body.entries) {
      expect(entry.commandId).toMatch(/^[0-9a-f-]{36}$/);
      expect(entry.causationId).toBe(entry.commandId);
      expect(Date.parse(entry.recordedAt)).toBeGreaterThan(Date.parse(entry.occurredAt));
    }
  });

  it('takes the actor from the API key, never from the body', async () => {
    const response = await api.request('POST', '/deals', { body: { ...bodies.lead(), actor: 'mallory' } });
    expect(response.status).toBe(400);
    expect(response.body.details).toEqual([{ field: 'actor', problems: [expect.stringContaining('should not exist')] }]);
  });

  it('answers 404 for a deal that does not exist, on reads and on commands', async () => {
    const unknown = '3f0e4a53-9a43-4b8f-9d0c-2e716f1f7c52';
    for (const [method, path, body] of [
      ['GET', `/deals/${unknown}`, undefined],
      ['GET', `/deals/${unknown}/history`, undefined],
      ['POST', `/deals/${unknown}/qualification`, bodies.qualification()],
    ] as const) {
      const response = await api.request(method, path, body === undefined ? {} : { body });
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 404, code: 'DEAL_NOT_FOUND' });
    }
  });

  it('refuses query parameters on the deal and its history, which take none, naming each', async () => {
    const dealId = await capture();
    for (const [path, fields] of [
      [`/deals/${dealId}?version=0`, ['version']],
      [`/deals/${dealId}/history?limit=1&after=2`, ['limit', 'after']],
      [`/deals/${dealId}?toString=1`, ['toString']],
    ] as const) {
      const response = await api.request('GET', path);
      expect({ status: response.status, code: response.body.code, fields: response.body.details.map((detail: { field: string }) => detail.field) }).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
        fields,
      });
    }
  });

  describe('If-Match', () => {
    it('applies a change based on the current version, as a number or a quoted ETag', async () => {
      const dealId = await capture();
      const first = await api.request('POST', `/deals/${dealId}/qualification`, {
        body: bodies.qualification(),
        headers: { 'if-match': '0' },
      });
      expect(first.status).toBe(200);
      const second = await api.request('POST', `/deals/${dealId}/proposals`, {
        body: bodies.proposal(),
        headers: { 'if-match': '"1"' },
      });
      expect(second.body).toEqual({ dealId, version: 2, stage: 'proposal' });
    });

    it('refuses a stale version with 409 VERSION_CONFLICT and changes nothing', async () => {
      const dealId = await capture();
      await api.request('POST', `/deals/${dealId}/qualification`, { body: bodies.qualification() });
      const stale = await api.request('POST', `/deals/${dealId}/proposals`, {
        body: bodies.proposal(),
        headers: { 'if-match': '"0"' },
      });
      expect(stale.status).toBe(409);
      expect(stale.body).toMatchObject({ code: 'VERSION_CONFLICT', details: { expectedVersion: 0, currentVersion: 1 } });
      expect((await api.request('GET', `/deals/${dealId}`)).body.version).toBe(1);
    });

    it('refuses an If-Match that is not a version', async () => {
      const dealId = await capture();
      const response = await api.request('POST', `/deals/${dealId}/qualification`, {
        body: bodies.qualification(),
        headers: { 'if-match': 'W/"abc"' },
      });
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 400, code: 'INVALID_IF_MATCH' });
    });
  });

  describe('Idempotency-Key', () => {
    it('answers a retried capture with the first answer and creates one deal only', async () => {
      const headers = { 'idempotency-key': `capture-${Date.now()}` };
      const first = await api.request('POST', '/deals', { body: bodies.lead(), headers });
      const retry = await api.request('POST', '/deals', { body: bodies.lead(), headers });
      expect(first.status).toBe(201);
      expect(retry.status).toBe(201);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      const history = await api.request('GET', `/deals/${first.body.dealId}/history`);
      expect(history.body.entries).toHaveLength(1);
    });

    it('answers a retried command with the first answer even after the deal moved on', async () => {
      const dealId = await capture();
      const headers = { 'idempotency-key': `qualify-${dealId}` };
      const first = await api.request('POST', `/deals/${dealId}/qualification`, { body: bodies.qualification(), headers });
      await api.request('POST', `/deals/${dealId}/proposals`, { body: bodies.proposal() });
      const retry = await api.request('POST', `/deals/${dealId}/qualification`, { body: bodies.qualification(), headers });
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(first.body);
      expect(retry.body).toEqual({ dealId, version: 1, stage: 'qualified' });
      const history = await api.request('GET', `/deals/${dealId}/history`);
      expect(history.body.entries.map((entry: { type: string }) => entry.type)).toEqual([
        'LeadCaptured',
        'Qualified',
        'ProposalSent',
      ]);
    });

    it('refuses the same key with a different body with 422, appending nothing', async () => {
      const dealId = await capture();
      const headers = { 'idempotency-key': `qualify-twice-${dealId}` };
      await api.request('POST', `/deals/${dealId}/qualification`, { body: bodies.qualification(), headers });
      const other = await api.request('POST', `/deals/${dealId}/qualification`, {
        body: bodies.qualification({ notes: 'changed' }),
        headers,
      });
      expect({ status: other.status, code: other.body.code }).toEqual({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
      expect((await api.request('GET', `/deals/${dealId}`)).body.version).toBe(1);
    });

    it('treats the deal id in capitals as the same deal: a retry so sent is the same request', async () => {
      const dealId = await capture();
      const headers = { 'idempotency-key': `qualify-upper-${dealId}` };
      const first = await api.request('POST', `/deals/${dealId}/qualification`, { body: bodies.qualification(), headers });
      const retry = await api.request('POST', `/deals/${dealId.toUpperCase()}/qualification`, { body: bodies.qualification(), headers });
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect((await api.request('GET', `/deals/${dealId}`)).body.version).toBe(1);
    });

    it('treats the same body with keys in another order as the same request', async () => {
      const headers = { 'idempotency-key': `order-${Date.now()}` };
      const body = bodies.lead();
      const reordered = Object.fromEntries(Object.entries(body).reverse());
      const first = await api.request('POST', '/deals', { body, headers });
      const retry = await api.request('POST', '/deals', { body: reordered, headers });
      expect(retry.body).toEqual(first.body);
    });
  });
});
