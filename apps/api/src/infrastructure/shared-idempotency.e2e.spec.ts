/**
 * Two API instances behind one load balancer: one event store (here one data directory) and one
 * Redis for Idempotency-Key claims (IDEMPOTENCY_STORE=redis), so a retry that lands on the other
 * instance is answered from the first outcome, and a reused key is refused wherever it lands.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeWithRedis, testRedisUrl, unlinkPrefix } from '@deals/read-models/testing';
import { Redis } from 'ioredis';
import { actors, bodies, startTestApp, type TestApp, type TestResponse } from '../testing/test-app';

describeWithRedis('Two API instances sharing a Redis idempotency store', () => {
  /** Every key of this run starts with it, so the claims can be removed afterwards. */
  const run = `e2e-${randomUUID()}`;
  const claimPrefix = `idempotency:${actors.sales}:${run}`;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp({ idempotencyStore: 'redis', redisUrl: testRedisUrl });
    b = await startTestApp({ idempotencyStore: 'redis', redisUrl: testRedisUrl }, { dataDir: a.dataDir });
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await unlinkPrefix(claimPrefix);
  });

  function send(app: TestApp, path: string, key: string, body: unknown): Promise<TestResponse> {
    return app.request('POST', path, { body, headers: { 'idempotency-key': key } });
  }

  function expectKeyReused(response: TestResponse): void {
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({ statusCode: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
  }

  it('answers a capture retried on the other instance from the first outcome, and refuses the key with another body there', async () => {
    const key = `${run}-capture`;
    const first = await send(a, '/deals', key, bodies.lead());
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const retried = await send(b, '/deals', key, bodies.lead());
    expect({ status: retried.status, body: retried.body }).toEqual({ status: 201, body: first.body });
    expect(retried.headers.get('idempotent-replayed')).toBe('true');

    expectKeyReused(await send(b, '/deals', key, bodies.lead({ title: 'Another deal' })));
    expectKeyReused(await send(a, '/deals', key, bodies.lead({ title: 'Another deal' })));

    const history = await b.request('GET', `/deals/${first.body.dealId}/history`);
    expect(history.body.entries.map((entry: { type: string }) => entry.type)).toEqual(['LeadCaptured']);
  });

  it('answers a command on a deal retried on the other instance alike, and refuses the key with another body', async () => {
    const captured = await a.request('POST', '/deals', { body: bodies.lead() });
    const dealId: string = captured.body.dealId;
    const key = `${run}-qualify`;
    const first = await send(b, `/deals/${dealId}/qualification`, key, bodies.qualification());
    expect({ status: first.status, body: first.body }).toEqual({ status: 200, body: { dealId, version: 1, stage: 'qualified' } });

    // A still holds the deal at version 0 in its cache: the retry meets B's event in the store.
    const retried = await send(a, `/deals/${dealId}/qualification`, key, bodies.qualification());
    expect({ status: retried.status, body: retried.body }).toEqual({ status: 200, body: first.body });
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expectKeyReused(await send(a, `/deals/${dealId}/qualification`, key, bodies.qualification({ timeline: true })));

    const history = await a.request('GET', `/deals/${dealId}/history`);
    expect(history.body.entries.map((entry: { type: string }) => entry.type)).toEqual(['LeadCaptured', 'Qualified']);
  });

  it('lets one of two bodies racing for one key across both instances win; the other is refused everywhere', async () => {
    const key = `${run}-race`;
    const titles = ['Body one', 'Body two'];
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => send(i % 2 ? a : b, '/deals', key, bodies.lead({ title: titles[Math.floor(i / 2) % 2] }))),
    );
    const accepted = responses.filter((response) => response.status === 201);
    const refused = responses.filter((response) => response.status !== 201);
    expect(accepted.length).toBeGreaterThan(0);
    expect(new Set(accepted.map((response) => JSON.stringify(response.body))).size).toBe(1);
    refused.forEach(expectKeyReused);
    // Requests of one body are either all accepted or all refused.
    const acceptedTitles = new Set(responses.flatMap((response, i) => (response.status === 201 ? [titles[Math.floor(i / 2) % 2]] : [])));
    expect(acceptedTitles.size).toBe(1);
    expect(refused).toHaveLength(10);
  });

  it('keeps the claims in Redis, not in a file of either instance', async () => {
    const redis = new Redis(testRedisUrl);
    try {
      expect((await redis.keys(`${claimPrefix}*`)).sort()).toEqual(['capture', 'qualify', 'race'].map((name) => `${claimPrefix}-${name}`));
    } finally {
      await redis.quit();
    }
    expect(existsSync(join(a.dataDir, 'idempotency.sqlite'))).toBe(false);
  });
});
