import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { EmbeddedLeaseStore } from '@deals/leases';
import { startTestApp, bodies } from '../../../api/src/testing/test-app';
import { cli, dumpReadModels, tempDataDir } from '../testing/cli-harness';
import { historyCsv } from '../testing/history-fixture';

describe('rebuild', () => {
  let data: ReturnType<typeof tempDataDir>;
  let env: Record<string, string>;
  let readModels: string;

  /**
   * The live run: the API's projection runners follow the store while history is imported by the
   * CLI (another connection to the same file, as another process would be) and deals are changed
   * over HTTP.
   */
  async function liveRun(): Promise<void> {
    const app = await startTestApp({}, { dataDir: data.dir });
    try {
      const file = join(data.dir, 'history.csv');
      writeFileSync(file, historyCsv);
      expect((await cli(['import', file], env)).stdout).toContain('12 imported');
      const created = await app.request('POST', '/deals', { body: bodies.lead({ owner: 'ana' }) });
      expect(created.status).toBe(201);
      const id = (created.body as { dealId: string }).dealId;
      expect((await app.request('POST', `/deals/${id}/qualification`, { body: bodies.qualification() })).status).toBe(200);
      await app.waitForProjections();
    } finally {
      await app.close();
    }
  }

  beforeEach(() => {
    data = tempDataDir();
    env = { DATA_DIR: data.dir };
    readModels = join(data.dir, 'read-models.sqlite');
  });
  afterEach(() => data.remove());

  it('rebuilds every projection from the first event to exactly what the live runners had built', async () => {
    await liveRun();
    const live = dumpReadModels(readModels);
    expect(live['checkpoints']?.length).toBeGreaterThanOrEqual(2);
    expect(live['documents']?.length).toBeGreaterThan(0);

    const run = await cli(['rebuild'], env);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^rebuilt pipeline: 14 events in /m);
    expect(run.stdout).toMatch(/^rebuilt analytics: 14 events in /m);
    expect(dumpReadModels(readModels)).toEqual(live);
  }, 60_000);

  it('rebuilds one projection alone, leaving the others as they were', async () => {
    await liveRun();
    const live = dumpReadModels(readModels);

    const run = await cli(['rebuild', '--projection', 'analytics'], env);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^rebuilt analytics: 14 events/);
    expect(run.stdout).not.toContain('pipeline');
    expect(dumpReadModels(readModels)).toEqual(live);
  }, 60_000);

  it('repairs a read model that was damaged, and writes no carriage returns when stderr is not a terminal', async () => {
    await liveRun();
    const live = dumpReadModels(readModels);
    const db = new Database(readModels);
    db.exec("UPDATE counters SET value = value + 1000; DELETE FROM documents WHERE rowid IN (SELECT rowid FROM documents LIMIT 3)");
    db.close();
    expect(dumpReadModels(readModels)).not.toEqual(live);

    const run = await cli(['rebuild', '--projection', 'all'], env);

    expect(run.code).toBe(0);
    expect(run.stderr).toContain('Rebuilding pipeline, analytics');
    expect(run.stderr).not.toContain('\r');
    expect(dumpReadModels(readModels)).toEqual(live);
  }, 60_000);

  describe('under the projector lease', () => {
    const projector = 'projector-host:4242:abcd1234';
    let leases: EmbeddedLeaseStore;

    beforeEach(() => {
      leases = EmbeddedLeaseStore.open(join(data.dir, 'leases.sqlite'));
    });
    afterEach(() => leases.close());

    it('refuses while a projector holds the lease, naming it, and leaves the read model as it was', async () => {
      await liveRun();
      const live = dumpReadModels(readModels);
      expect(await leases.acquire('projector', projector, 60_000)).toBe(true);

      const run = await cli(['rebuild'], env);

      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`The projector lease is held by ${projector}`);
      expect(run.stderr).toContain('--wait');
      expect(dumpReadModels(readModels)).toEqual(live);
      expect(await leases.holder('projector')).toBe(projector);
    }, 60_000);

    it('with --wait, touches nothing until the projector lets the lease go, then rebuilds and gives the lease back', async () => {
      await liveRun();
      const live = dumpReadModels(readModels);
      expect(await leases.acquire('projector', projector, 60_000)).toBe(true);

      const damage = new Database(readModels);
      damage.exec('UPDATE counters SET value = value + 1000');
      damage.close();
      const damaged = dumpReadModels(readModels);

      const running = cli(['rebuild', '--wait'], { ...env, LEASE_TTL_MS: '3000' });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(dumpReadModels(readModels)).toEqual(damaged);
      expect(await leases.release('projector', projector)).toBe(true);
      const run = await running;

      expect(run.code).toBe(0);
      expect(run.stderr).toContain(`Waiting for the projector lease, held by ${projector}`);
      expect(run.stdout).toMatch(/^rebuilt analytics: 14 events/m);
      expect(dumpReadModels(readModels)).toEqual(live);
      expect(await leases.holder('projector')).toBeUndefined();
    }, 60_000);
  });
});
