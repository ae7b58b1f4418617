import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedReadModelStore } from '@deals/read-models';
import { Redis } from 'ioredis';
import { itWithRedis, testRedisUrl } from '@deals/read-models/testing';
import { queryCycleLength } from '@deals/projections';
import { parseCsv } from '../../../api/src/audit/testing/parse-csv';
import { importedDealId } from '../import-history/history-row';
import { cli, dumpReadModels, importedHistory, type tempDataDir } from '../testing/cli-harness';
import { replayUntil } from '../testing/history-fixture';

/** The CSV's rows as objects keyed by column. */
function rowsOf(csv: string): Array<Record<string, string>> {
  const [header, ...rows] = parseCsv(csv);
  return rows.map((row) => Object.fromEntries(header!.map((column, index) => [column, row[index] ?? ''])));
}

describe('replay', () => {
  let data: ReturnType<typeof tempDataDir>;
  let env: Record<string, string>;

  beforeEach(async () => {
    ({ data, env } = await importedHistory());
  });
  afterEach(() => data.remove());

  it('replays history up to a date into its own file, leaving the live read model untouched', async () => {
    const live = dumpReadModels(join(data.dir, 'read-models.sqlite'));

    const run = await cli(['replay', '--until', replayUntil, '--into', 'q1'], env);

    expect(run.code).toBe(0);
    const file = join(data.dir, 'read-models-replay-q1.sqlite');
    expect(existsSync(file)).toBe(true);
    expect(run.stdout).toContain(file);
    // D's close on 2025-04-10 is read (the checkpoint moves past it) but not projected.
    expect(run.stdout).toMatch(/^replayed analytics: 11 of 12 events in /m);
    expect(run.stdout).toContain('export-analytics --from-replay q1');
    expect(dumpReadModels(join(data.dir, 'read-models.sqlite'))).toEqual(live);
  }, 60_000);

  it('answers the analytics as they stood at the date: a deal won after it counts as open', async () => {
    await cli(['replay', '--until', replayUntil, '--into', 'q1'], env);

    const replayed = await cli(['export-analytics', '--from-replay', 'q1'], env);
    const today = await cli(['export-analytics'], env);

    expect(replayed.code).toBe(0);
    // A won and B lost before the date; D, won on 2025-04-10, was still open then.
    expect(rowsOf(replayed.stdout)[0]).toMatchObject({ group: 'all', won: '1', lost: '1', open: '1', asOf: '2025-03-31T23:59:59.000Z' });
    expect(rowsOf(today.stdout)[0]).toMatchObject({ group: 'all', won: '2', lost: '1', open: '0' });
  }, 60_000);

  it('holds the same analytics as the live read model asked as of the date', async () => {
    await cli(['replay', '--until', replayUntil, '--into', 'q1'], env);
    const asOf = new Date(replayUntil);
    const live = EmbeddedReadModelStore.open(join(data.dir, 'read-models.sqlite'));
    const replay = EmbeddedReadModelStore.open(join(data.dir, 'read-models-replay-q1.sqlite'));
    try {
      for (const groupBy of [undefined, 'owner', 'month'] as const) {
        for (const basis of ['cohort', 'period'] as const) {
          const request = { basis, groupBy, asOf };
          expect(await queryCycleLength(replay, request, new Date())).toEqual(await queryCycleLength(live, request, new Date()));
        }
      }
      // Only events up to the date were projected; the later ones only moved the checkpoint.
      const d = importedDealId('D');
      expect(await live.get('analytics:deal', d)).toMatchObject({ outcome: 'won' });
      expect(await replay.get('analytics:deal', d)).toMatchObject({ outcome: null });
      expect((await replay.checkpoint('analytics'))?.position).toEqual((await live.checkpoint('analytics'))?.position);
    } finally {
      await live.close();
      await replay.close();
    }
  }, 60_000);

  it('replaces an earlier replay of the same name, and names a default from the date', async () => {
    await cli(['replay', '--until', '2025-01-31T00:00:00Z', '--into', 'q1'], env);
    await cli(['replay', '--until', replayUntil, '--into', 'q1'], env);
    const again = await cli(['export-analytics', '--from-replay', 'q1'], env);
    expect(rowsOf(again.stdout)[0]).toMatchObject({ won: '1', lost: '1', open: '1' });

    const defaulted = await cli(['replay', '--until', '2025-02-01'], env);
    expect(defaulted.code).toBe(0);
    expect(existsSync(join(data.dir, 'read-models-replay-until-2025-02-01.sqlite'))).toBe(true);
    // At midnight on 2025-02-01, A and B were open; B was lost and D captured later that morning.
    const early = await cli(['export-analytics', '--from-replay', 'until-2025-02-01'], env);
    expect(rowsOf(early.stdout)[0]).toMatchObject({ won: '0', lost: '0', open: '2' });
  }, 60_000);

  itWithRedis('replays into a key prefix of its own when the read models live in Redis', async () => {
    const redisEnv = { ...env, READ_MODEL_STORE: 'redis', REDIS_URL: testRedisUrl };
    const name = `test-${randomUUID().slice(0, 8)}`;
    const prefix = `deals-replay:${name}:`;
    const redis = new Redis(redisEnv.REDIS_URL);
    try {
      const run = await cli(['replay', '--until', replayUntil, '--into', name], redisEnv);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Redis keys prefixed ${prefix}`);
      expect((await redis.keys(`${prefix}*`)).length).toBeGreaterThan(0);

      const fromRedis = await cli(['export-analytics', '--from-replay', name], redisEnv);
      await cli(['replay', '--until', replayUntil, '--into', 'q1'], env);
      const fromSqlite = await cli(['export-analytics', '--from-replay', 'q1'], env);
      expect(fromRedis.code).toBe(0);
      expect(rowsOf(fromRedis.stdout)).toEqual(rowsOf(fromSqlite.stdout));
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.unlink(...keys);
      redis.disconnect();
    }
  }, 60_000);

  it('fails with exit 1 when asked for a replay that does not exist', async () => {
    const run = await cli(['export-analytics', '--from-replay', 'nope'], env);
    expect(run).toMatchObject({ code: 1, stderr: expect.stringContaining('No replay named nope') });
  });
});
