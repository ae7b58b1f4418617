import { randomUUID } from 'node:crypto';
import type { EventStore } from '@deals/event-store';
import { EVENT_STORE } from '../infrastructure/tokens';
import { bodies, type RequestOptions, startTestApp, type TestApp, type TestResponse } from '../testing/test-app';

/**
 * Many clients at once. Whatever the interleaving, each request is answered exactly once, and the
 * deal's history holds exactly the changes that were answered 2xx: none lost, none doubled.
 */

interface HistoryEntry {
  version: number;
  type: string;
  correlationId: string;
  commandId: string;
  actor: string;
  data: Record<string, unknown>;
}

interface Sent {
  readonly kind: 'negotiation' | 'follow-up' | 'closing';
  readonly correlationId: string;
  readonly response: TestResponse;
}

let api: TestApp;
let store: EventStore;

beforeAll(async () => {
  api = await startTestApp();
  store = api.app.get<EventStore>(EVENT_STORE);
});

afterAll(async () => {
  await api.close();
});

async function ok(app: TestApp, path: string, body: unknown): Promise<TestResponse> {
  const response = await app.request('POST', path, { body });
  if (response.status >= 300) throw new Error(`${path} answered ${response.status}: ${response.text}`);
  return response;
}

/** A deal in stage proposal (version 2). */
async function proposalDeal(app: TestApp = api): Promise<string> {
  const dealId: string = (await ok(app, '/deals', bodies.lead())).body.dealId;
  await ok(app, `/deals/${dealId}/qualification`, bodies.qualification());
  await ok(app, `/deals/${dealId}/proposals`, bodies.proposal());
  return dealId;
}

async function history(dealId: string, app: TestApp = api): Promise<HistoryEntry[]> {
  const response = await app.request('GET', `/deals/${dealId}/history`);
  expect(response.status).toBe(200);
  return response.body.entries;
}

async function head(): Promise<bigint> {
  for await (const event of store.readAll({ direction: 'backwards', maxCount: 1 })) return event.position.commit;
  return 0n;
}

const paths = { negotiation: 'negotiations', 'follow-up': 'follow-ups', closing: 'closing' } as const;
const eventTypes = { negotiation: 'Negotiated', 'follow-up': 'FollowedUp', closing: 'Closed' } as const;

function send(app: TestApp, dealId: string, kind: Sent['kind'], body: unknown, options: RequestOptions = {}): Promise<Sent> {
  const correlationId = `${kind}-${randomUUID()}`;
  return app
    .request('POST', `/deals/${dealId}/${paths[kind]}`, {
      ...options,
      body,
      headers: { ...options.headers, 'x-correlation-id': correlationId },
    })
    .then((response) => ({ kind, correlationId, response }));
}

/**
 * The history past `baseVersion` is exactly the applied requests: one entry per 2xx answer, at the
 * version that answer gave, of the right type and from that request; versions contiguous; and no
 * entry from a refused request.
 */
function expectHistoryMatchesAnswers(entries: HistoryEntry[], baseVersion: number, sent: readonly Sent[]): HistoryEntry[] {
  const applied = sent.filter(({ response }) => response.status === 200);
  const added = entries.filter((entry) => entry.version > baseVersion);
  expect(entries.map((entry) => entry.version)).toEqual(entries.map((_, index) => index));
  expect(added).toHaveLength(applied.length);

  const answeredVersions = applied.map(({ response }) => response.body.version as number);
  expect(new Set(answeredVersions).size).toBe(applied.length);
  expect([...answeredVersions].sort((a, b) => a - b)).toEqual(added.map((entry) => entry.version));

  const byVersion = new Map(added.map((entry) => [entry.version, entry]));
  for (const { kind, correlationId, response } of applied) {
    const entry = byVersion.get(response.body.version)!;
    expect({ type: entry.type, correlationId: entry.correlationId }).toEqual({ type: eventTypes[kind], correlationId });
    expect(response.headers.get('etag')).toBe(`"${response.body.version}"`);
  }
  const refused = new Set(sent.filter(({ response }) => response.status !== 200).map(({ correlationId }) => correlationId));
  expect(entries.filter((entry) => refused.has(entry.correlationId))).toEqual([]);
  return added;
}

function expectErrorBody(response: TestResponse, status: number, codes: readonly string[]): void {
  expect(response.status).toBe(status);
  expect(codes).toContain(response.body.code);
  expect(response.body).toEqual({ statusCode: status, code: response.body.code, message: expect.any(String), details: expect.anything() });
}

describe('Many commands on one deal at once, without If-Match', () => {
  it('applies each at most once, refuses the rest by the stage rules, and the history is exactly the applied set', async () => {
    const dealId = await proposalDeal();
    const sent = await Promise.all([
      ...Array.from({ length: 40 }, (_, i) => send(api, dealId, 'negotiation', bodies.negotiation({ counterAmount: 40_000 + i }))),
      ...Array.from({ length: 10 }, (_, i) => send(api, dealId, 'follow-up', bodies.followUp({ notes: `check ${i}` }))),
      ...Array.from({ length: 3 }, (_, i) => send(api, dealId, 'closing', bodies.lost({ reason: `lost ${i}` }))),
    ]);

    const allowedRefusals = { negotiation: ['DEAL_CLOSED'], 'follow-up': ['DEAL_NOT_CLOSED'], closing: ['DEAL_CLOSED'] };
    for (const { kind, response } of sent) {
      if (response.status === 200) {
        expect(response.body).toEqual({ dealId, version: expect.any(Number), stage: expect.stringMatching(/^(negotiation|lost)$/) });
      } else {
        expectErrorBody(response, 409, allowedRefusals[kind]);
      }
    }

    const added = expectHistoryMatchesAnswers(await history(dealId), 2, sent);
    const closes = sent.filter(({ kind, response }) => kind === 'closing' && response.status === 200);
    expect(closes).toHaveLength(1);
    const closedAt = closes[0]!.response.body.version as number;
    for (const { kind, response } of sent.filter(({ response }) => response.status === 200)) {
      if (kind === 'negotiation') {
        expect(response.body.stage).toBe('negotiation');
        expect(response.body.version).toBeLessThan(closedAt);
      }
      if (kind === 'follow-up') {
        expect(response.body.stage).toBe('lost');
        expect(response.body.version).toBeGreaterThan(closedAt);
      }
    }
    const rounds = added.filter((entry) => entry.type === 'Negotiated').map((entry) => entry.data.round);
    expect(rounds).toEqual(rounds.map((_, index) => index + 1));

    const deal = await api.request('GET', `/deals/${dealId}`);
    expect(deal.body).toMatchObject({
      version: 2 + added.length,
      stage: 'lost',
      negotiationRounds: rounds.length,
      followUps: added.filter((entry) => entry.type === 'FollowedUp').length,
    });
  });

  it('applies every one of 40 parallel negotiation rounds when the rules allow them all', async () => {
    const dealId = await proposalDeal();
    const sent = await Promise.all(Array.from({ length: 40 }, (_, i) => send(api, dealId, 'negotiation', { notes: `round ${i}` })));
    expect(sent.map(({ response }) => response.status)).toEqual(Array(40).fill(200));
    const added = expectHistoryMatchesAnswers(await history(dealId), 2, sent);
    expect(added.map((entry) => entry.version)).toEqual(Array.from({ length: 40 }, (_, i) => 3 + i));
  });
});

describe('Many commands with the same If-Match at once', () => {
  it('applies exactly one; every other gets 409 VERSION_CONFLICT', async () => {
    const dealId = await proposalDeal();
    const sent = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        send(api, dealId, 'negotiation', { notes: `based on 2, #${i}` }, { headers: { 'if-match': i % 2 ? '2' : '"2"' } }),
      ),
    );
    const winners = sent.filter(({ response }) => response.status === 200);
    expect(winners).toHaveLength(1);
    expect(winners[0]!.response.body).toEqual({ dealId, version: 3, stage: 'negotiation' });
    for (const { response } of sent.filter(({ response }) => response.status !== 200)) {
      expectErrorBody(response, 409, ['VERSION_CONFLICT']);
      expect(response.body.details).toEqual({ expectedVersion: 2, currentVersion: 3 });
    }
    const entries = await history(dealId);
    expect(entries).toHaveLength(4);
    expectHistoryMatchesAnswers(entries, 2, sent);
  });

  it('lets one command per version through when clients keep retrying with the version they last saw', async () => {
    const dealId = await proposalDeal();
    const client = async (name: number) => {
      for (;;) {
        const { version } = (await api.request('GET', `/deals/${dealId}`)).body;
        const attempt = await send(api, dealId, 'negotiation', { notes: `client ${name}` }, { headers: { 'if-match': String(version) } });
        if (attempt.response.status === 200) return attempt;
        expectErrorBody(attempt.response, 409, ['VERSION_CONFLICT']);
      }
    };
    const sent = await Promise.all(Array.from({ length: 8 }, (_, i) => client(i)));
    expectHistoryMatchesAnswers(await history(dealId), 2, sent);
    expect((await history(dealId)).map((entry) => entry.version)).toEqual(Array.from({ length: 11 }, (_, i) => i));
  });
});

describe('Parallel retries of one request with the same Idempotency-Key', () => {
  it('answers 20 simultaneous copies of a command alike, and appends one event', async () => {
    const dealId = await proposalDeal();
    const headers = { 'idempotency-key': `negotiate-${randomUUID()}` };
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => api.request('POST', `/deals/${dealId}/negotiations`, { body: bodies.negotiation(), headers })),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(200));
    for (const response of responses) expect(response.body).toEqual({ dealId, version: 3, stage: 'negotiation' });
    expect(responses.filter((response) => response.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);
    expect((await history(dealId)).map((entry) => entry.type)).toEqual(['LeadCaptured', 'Qualified', 'ProposalSent', 'Negotiated']);
  });

  it('answers 20 simultaneous copies of a capture alike, and creates one deal', async () => {
    const before = await head();
    const headers = { 'idempotency-key': `capture-${randomUUID()}` };
    const responses = await Promise.all(Array.from({ length: 20 }, () => api.request('POST', '/deals', { body: bodies.lead(), headers })));
    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(201));
    const [first] = responses;
    for (const response of responses) expect(response.body).toEqual(first!.body);
    expect(first!.body).toEqual({ dealId: expect.any(String), version: 0, stage: 'lead' });
    expect(await history(first!.body.dealId)).toHaveLength(1);
    expect(await head()).toBe(before + 1n);
  });

  it('lets one of two different bodies sent at once with the same key win; the other body gets 422', async () => {
    const dealId = await proposalDeal();
    const headers = { 'idempotency-key': `race-${randomUUID()}` };
    const bodyA = { notes: 'body A' };
    const bodyB = { notes: 'body B' };
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api
          .request('POST', `/deals/${dealId}/negotiations`, { body: i % 2 ? bodyA : bodyB, headers })
          .then((response) => ({ body: i % 2 ? 'A' : 'B', response })),
      ),
    );
    const winner = responses.find(({ response }) => response.status === 200)!.body;
    for (const { body, response } of responses) {
      if (body === winner) expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { dealId, version: 3, stage: 'negotiation' } });
      else expect({ status: response.status, code: response.body.code }).toEqual({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    }
    const entries = await history(dealId);
    expect(entries).toHaveLength(4);
    expect(entries[3]!.data.notes).toBe(`body ${winner}`);
  });
});

describe('Concurrent captures from many clients', () => {
  it('gives 50 simultaneous captures 50 distinct deals of one event each', async () => {
    const before = await head();
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        api.request('POST', '/deals', { as: i % 5 === 0 ? 'admin' : 'sales', body: bodies.lead({ title: `Deal ${i}` }) }),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(50).fill(201));
    const ids = responses.map((response) => response.body.dealId as string);
    expect(new Set(ids).size).toBe(50);
    const histories = await Promise.all(ids.map((dealId) => history(dealId)));
    histories.forEach((entries, i) => {
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ version: 0, type: 'LeadCaptured', data: { dealId: ids[i], title: `Deal ${i}` } });
    });
    expect(await head()).toBe(before + 50n);
  });
});

describe('Two app instances on one data directory', () => {
  let other: TestApp;
  beforeAll(async () => {
    other = await startTestApp({}, { dataDir: api.dataDir });
  });
  afterAll(async () => {
    await other.close();
  });

  it('applies every negotiation sent to either instance, without spurious failures, lost or doubled events', async () => {
    const dealId = await proposalDeal(api);
    // Each instance has the deal cached at version 2 before the race.
    expect((await other.request('GET', `/deals/${dealId}`)).body.version).toBe(2);
    const sent = await Promise.all(
      Array.from({ length: 40 }, (_, i) => send(i % 2 ? api : other, dealId, 'negotiation', bodies.negotiation({ counterAmount: 30_000 + i }))),
    );
    expect(sent.filter(({ response }) => response.status !== 200).map(({ response }) => response.body)).toEqual([]);

    for (const app of [api, other]) {
      const entries = await history(dealId, app);
      const added = expectHistoryMatchesAnswers(entries, 2, sent);
      expect(added.map((entry) => entry.data.round)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      const last = entries.at(-1)!.data.counterAmount;
      expect((await app.request('GET', `/deals/${dealId}`)).body).toMatchObject({ version: 42, negotiationRounds: 40, value: last });
    }
  });

  it('keeps the stage rules across instances: one close wins, later rounds are refused, follow-ups land after it', async () => {
    const dealId = await proposalDeal(other);
    const sent = await Promise.all([
      ...Array.from({ length: 16 }, (_, i) => send(i % 2 ? api : other, dealId, 'negotiation', { notes: `round ${i}` })),
      ...Array.from({ length: 6 }, (_, i) => send(i % 2 ? other : api, dealId, 'follow-up', bodies.followUp())),
      send(api, dealId, 'closing', bodies.lost({ reason: 'closed on A' })),
      send(other, dealId, 'closing', bodies.lost({ reason: 'closed on B' })),
    ]);
    const allowedRefusals = { negotiation: ['DEAL_CLOSED'], 'follow-up': ['DEAL_NOT_CLOSED'], closing: ['DEAL_CLOSED'] };
    for (const { kind, response } of sent) {
      if (response.status !== 200) expectErrorBody(response, 409, allowedRefusals[kind]);
    }
    const closes = sent.filter(({ kind, response }) => kind === 'closing' && response.status === 200);
    expect(closes).toHaveLength(1);
    const added = expectHistoryMatchesAnswers(await history(dealId, api), 2, sent);
    const closedAt = closes[0]!.response.body.version;
    for (const entry of added) {
      if (entry.type === 'Negotiated') expect(entry.version).toBeLessThan(closedAt);
      if (entry.type === 'FollowedUp') expect(entry.version).toBeGreaterThan(closedAt);
    }
  });

  it('answers one Idempotency-Key sent to both instances at once alike, with one event', async () => {
    const dealId = await proposalDeal(api);
    await other.request('GET', `/deals/${dealId}`);
    const headers = { 'idempotency-key': `both-${randomUUID()}` };
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? api : other).request('POST', `/deals/${dealId}/negotiations`, { body: bodies.negotiation(), headers }),
      ),
    );
    for (const response of responses) {
      expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { dealId, version: 3, stage: 'negotiation' } });
    }
    expect((await history(dealId, other)).map((entry) => entry.type)).toEqual(['LeadCaptured', 'Qualified', 'ProposalSent', 'Negotiated']);
  });

  it('answers one capture Idempotency-Key sent to both instances at once alike, with one deal', async () => {
    const headers = { 'idempotency-key': `capture-both-${randomUUID()}` };
    const before = await head();
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? api : other).request('POST', '/deals', { body: bodies.lead(), headers })),
    );
    const [first] = responses;
    for (const response of responses) expect({ status: response.status, body: response.body }).toEqual({ status: 201, body: first!.body });
    expect(await history(first!.body.dealId)).toHaveLength(1);
    expect(await head()).toBe(before + 1n);
  });
});
