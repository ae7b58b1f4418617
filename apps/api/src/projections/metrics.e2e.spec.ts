import { bodies, startTestApp, type TestApp } from '../testing/test-app';

describe('GET /metrics', () => {
  let api: TestApp;
  beforeAll(async () => {
    api = await startTestApp();
  });
  afterAll(async () => {
    await api.close();
  });

  it('exposes how far each projection is behind the event store, in the Prometheus text format, without a key', async () => {
    for (let i = 0; i < 3; i++) expect((await api.request('POST', '/deals', { body: bodies.lead() })).status).toBe(201);
    await api.waitForProjections();
    const response = await api.request('GET', '/metrics', { as: null });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    for (const projection of ['pipeline', 'analytics', 'audit']) {
      expect(response.text).toContain(`deals_projection_lag_events{projection="${projection}"} 0`);
      expect(response.text).toContain(`deals_projection_lag_seconds{projection="${projection}"} 0`);
      expect(response.text).toContain(`deals_projection_events_processed{projection="${projection}"} 3`);
    }
    expect(response.text).toContain('process_resident_memory_bytes');
  });
});
