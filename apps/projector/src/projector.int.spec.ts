/**
 * The projector app as real processes over one embedded store (SQLite files in one DATA_DIR): active
 * and standby side by side, the leader killed, a SIGTERM during a catch-up. Each run's read models are
 * compared with a clean rebuild of the same events by the CLI.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EmbeddedReadModelStore } from '@deals/read-models';
import { ensureDataset } from '../../../bench/dataset';
import { runToExit, startWorker, type WorkerProcess } from '../../api/src/projections/testing/worker-process';
import { bodies, startTestApp } from '../../api/src/testing/test-app';
import { cli, dumpReadModels, tempDataDir } from '../../cli/src/testing/cli-harness';

jest.setTimeout(180_000);

const projections = ['pipeline', 'analytics', 'audit'];
let dataset: ReturnType<typeof tempDataDir>;
let totalEvents: number;
let data: ReturnType<typeof tempDataDir>;
let workers: WorkerProcess[];

beforeAll(async () => {
  dataset = tempDataDir();
  // Enough events that a catch-up takes many batches of 2,000.
  totalEvents = (await ensureDataset(path.join(dataset.dir, 'events.sqlite'), 10_000, () => {})).events;
});

afterAll(() => dataset.remove());

beforeEach(() => {
  data = tempDataDir();
  for (const suffix of ['', '-wal', '-shm']) {
    const file = path.join(dataset.dir, `events.sqlite${suffix}`);
    if (fs.existsSync(file)) fs.copyFileSync(file, path.join(data.dir, `events.sqlite${suffix}`));
  }
  workers = [];
});

afterEach(async () => {
  for (const worker of workers) await worker.stop('SIGKILL');
  data.remove();
});

async function projector(): Promise<WorkerProcess> {
  const worker = await startWorker('projector', { DATA_DIR: data.dir, LEASE_TTL_MS: '10000' });
  workers.push(worker);
  return worker;
}

function processed(health: any, projection: string): number {
  return health.projections.find((status: any) => status.projection === projection).eventsProcessed;
}

const caughtUp = (health: any) => health.role === 'leader' && health.projections.every((status: any) => status.caughtUp && status.eventsProcessed === totalEvents);
const midway = (health: any) => health.role === 'leader' && projections.some((name) => processed(health, name) > 0) && !health.projections.every((status: any) => status.caughtUp);

/**
 * dumpReadModels with index entries keyed by their index's name rather than the number the embedded
 * store gives each name in order of first use, which differs between a live run and a rebuild; their
 * projection's number (its namespace's) goes the same way, and the index's name says the projection.
 */
function readModels(dataDir: string): Record<string, string[]> {
  const dump = dumpReadModels(path.join(dataDir, 'read-models.sqlite'));
  const names = new Map((dump['names'] ?? []).map((row) => JSON.parse(row) as { id: number; name: string }).map(({ id, name }) => [id, name]));
  const { names: _, ...rest } = dump;
  if (rest['index_entries']) {
    rest['index_entries'] = rest['index_entries']
      .map((row) => {
        const { name_id: id, projection_id: _projection, ...entry } = JSON.parse(row) as { name_id: number; projection_id: number };
        return JSON.stringify({ index: names.get(id), ...entry });
      })
      .sort();
  }
  return rest;
}

/** The read models a clean rebuild of the same events gives: the CLI's rebuild in a DATA_DIR of its own. */
async function cleanRebuild(): Promise<Record<string, string[]>> {
  const clean = tempDataDir();
  try {
    fs.copyFileSync(path.join(dataset.dir, 'events.sqlite'), path.join(clean.dir, 'events.sqlite'));
    expect((await cli(['rebuild'], { DATA_DIR: clean.dir })).code).toBe(0);
    return readModels(clean.dir);
  } finally {
    clean.remove();
  }
}

describe('the projector app', () => {
  it('runs in one of two processes side by side; when the leader is killed the standby takes over and ends where a clean rebuild does', async () => {
    const [first, second] = await Promise.all([projector(), projector()]);
    const healths = await Promise.all([first!.healthUntil(() => true), second!.healthUntil(() => true)]);
    expect(healths.map((health) => health.role).sort()).toEqual(['leader', 'standby']);
    const leader = healths[0].role === 'leader' ? first! : second!;
    const standby = leader === first ? second! : first!;
    expect((await standby.get('/metrics')).body).toContain('deals_projector_leader{lease="projector"} 0');

    await leader.healthUntil(midway);
    expect(await leader.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });

    // Once the killed leader's lease runs out, the standby resumes from the last committed checkpoint.
    await standby.healthUntil(caughtUp);
    expect((await standby.get('/metrics')).body).toContain('deals_projector_leader{lease="projector"} 1');
    expect(await standby.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    expect(readModels(data.dir)).toEqual(await cleanRebuild());
  });

  it('on SIGTERM during a catch-up commits the batch in hand, stores the checkpoint and exits 0; restarted, it resumes and ends where a clean rebuild does', async () => {
    const first = await projector();
    const seen = await first.healthUntil(midway);
    expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(first.output()).toContain('Lease projector: released');

    const store = EmbeddedReadModelStore.open(path.join(data.dir, 'read-models.sqlite'));
    const stored = await Promise.all(projections.map(async (name) => (await store.checkpoint(name))?.eventsProcessed ?? 0));
    await store.close();
    projections.forEach((name, i) => expect(stored[i]).toBeGreaterThanOrEqual(processed(seen, name)));
    expect(stored.some((events) => events < totalEvents)).toBe(true);

    const second = await projector();
    const resumed = await second.healthUntil((health) => health.role === 'leader');
    projections.forEach((name, i) => expect(processed(resumed, name)).toBeGreaterThanOrEqual(stored[i]!));
    await second.healthUntil(caughtUp);
    expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    expect(readModels(data.dir)).toEqual(await cleanRebuild());
  });

  it('stands by beside an API that runs the projections in-process, and projects for an API with API_WORKERS=off', async () => {
    // It takes the lease as it starts, before it answers.
    const api = await startTestApp({}, { dataDir: data.dir });
    try {
      const beside = await projector();
      expect((await beside.healthUntil(() => true)).role).toBe('standby');
      expect(await beside.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      await api.close();
    }

    const serving = await startTestApp({ apiWorkers: 'off' }, { dataDir: data.dir });
    try {
      const worker = await projector();
      await worker.healthUntil((health) => health.role === 'leader');
      expect((await serving.request('POST', '/deals', { body: bodies.lead() })).status).toBe(201);
      await worker.healthUntil((health) => health.projections.every((status: any) => status.caughtUp && status.eventsProcessed === totalEvents + 1));
      // The API reads the lag from the same store, whoever projects.
      await serving.waitForProjections();
    } finally {
      await serving.close();
    }
  });

  it.each([
    [{ READ_MODEL_STORE: 'redis' }, 'REDIS_URL'],
    [{ LEASE_TTL_MS: 'soon' }, 'LEASE_TTL_MS'],
    [{ EVENT_STORE: 'esdb' }, 'ESDB_URL'],
    [{ LOG_FORMAT: 'yaml' }, 'LOG_FORMAT'],
  ])('stops at start on a wrong or missing setting, naming it: %p', async (env, setting) => {
    const run = await runToExit('projector', { DATA_DIR: data.dir, ...env });
    expect(run.code).toBe(1);
    expect(run.output).toContain(`Configuration error: ${setting}: `);
  });
});

describe('the projector with LOG_FORMAT=json', () => {
  it('writes one JSON object per log line, with its level, context and message', async () => {
    const worker = await startWorker('projector', { DATA_DIR: data.dir, LOG_FORMAT: 'json' });
    workers.push(worker);
    await worker.healthUntil((health) => health.role === 'leader');
    expect(await worker.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const lines = worker.output().split('\n').filter((line) => line.trim().length > 0);
    const logged = lines.map((line) => JSON.parse(line) as { level: string; context: string; message: string; pid: number });
    expect(logged.length).toBeGreaterThan(3);
    expect(logged).toContainEqual(expect.objectContaining({ level: 'log', context: 'Projections', message: 'Running projections: pipeline, analytics, audit' }));
    expect(logged).toContainEqual(expect.objectContaining({ level: 'log', context: 'Projector', message: 'Stopped' }));
    // It takes no commands, so it opens no store of Idempotency-Key claims.
    expect(fs.existsSync(path.join(data.dir, 'idempotency.sqlite'))).toBe(false);
  });
});

describe('the API', () => {
  it('stops at start on a wrong API_WORKERS, naming it', async () => {
    const run = await runToExit('api', { DATA_DIR: data.dir, API_WORKERS: 'yes' });
    expect(run.code).toBe(1);
    expect(run.output).toContain('Configuration error: API_WORKERS: ');
  });
});
