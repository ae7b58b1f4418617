import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { EmbeddedLeaseStore } from '@deals/leases';
import { bodies, startTestApp, type TestApp } from '../testing/test-app';
import { ProjectionStatusService, projectorLease } from './projection-status.service';
import { ProjectorThread } from './projector-thread.service';

/** The API's projections with API_WORKERS=in-process (the default): on a worker thread of the API process. */
describe('the projector thread of the API', () => {
  let api: TestApp | undefined;

  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  async function leaseHolder(dataDir: string): Promise<string | undefined> {
    const leases = EmbeddedLeaseStore.open(join(dataDir, 'leases.sqlite'));
    try {
      return await leases.holder(projectorLease);
    } finally {
      await leases.close();
    }
  }

  it('holds the projector lease and projects, while the API’s main thread runs no projection', async () => {
    api = await startTestApp();
    expect(await leaseHolder(api.dataDir)).toEqual(expect.any(String));
    expect(api.app.get(ProjectionStatusService).leadership()).toBeUndefined();

    const { dealId } = (await api.request('POST', '/deals', { body: bodies.lead({ owner: 'ann' }) })).body as { dealId: string };
    await api.waitForProjections();
    const pipeline = await api.request('GET', '/pipeline?owner=ann', { as: 'analyst' });
    expect(pipeline.body.deals.items.map((item: { dealId: string }) => item.dealId)).toEqual([dealId]);
  });

  it('when the API closes, stops after committing and gives the lease back at once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'projector-thread-'));
    try {
      const started = await startTestApp({}, { dataDir });
      await started.request('POST', '/deals', { body: bodies.lead() });
      await started.close();
      expect(await leaseHolder(dataDir)).toBeUndefined();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('when the thread dies, starts it again, and projecting resumes once its old lease has run out', async () => {
    api = await startTestApp({ leaseTtlMs: 3_000 });
    const thread = api.app.get(ProjectorThread);
    // A crash of the thread, as an uncaught error would end it: no graceful stop, the lease left held.
    await (thread as unknown as { worker: Worker }).worker.terminate();

    const { dealId } = (await api.request('POST', '/deals', { body: bodies.lead({ owner: 'bea' }) })).body as { dealId: string };
    await api.app.get(ProjectionStatusService).caughtUp(20_000);
    const pipeline = await api.request('GET', '/pipeline?owner=bea', { as: 'analyst' });
    expect(pipeline.body.deals.items.map((item: { dealId: string }) => item.dealId)).toEqual([dealId]);
  }, 30_000);

  it('when the API closes while the thread is down, before it is started again, closes all the same', async () => {
    const started = await startTestApp();
    api = started;
    await (started.app.get(ProjectorThread) as unknown as { worker: Worker }).worker.terminate();
    api = undefined;
    await started.close();
  });
});
