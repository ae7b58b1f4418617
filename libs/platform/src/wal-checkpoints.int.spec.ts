import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { eventually, rowsCheckpointed } from './testing';
import { startWalCheckpoints } from './wal-checkpoints';

describe('startWalCheckpoints', () => {
  let dir: string;
  let path: string;
  let writer: Database.Database;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wal-checkpoints-'));
    path = join(dir, 'file.sqlite');
    writer = new Database(path);
    writer.pragma('journal_mode = WAL');
    // Given a writer that never checkpoints on its own,
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec('CREATE TABLE t (n INTEGER)');
  });

  afterEach(() => {
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies what the writer commits into the database file, while it keeps committing', async () => {
    const insert = writer.prepare('INSERT INTO t (n) VALUES (?)');
    insert.run(0);
    expect(rowsCheckpointed(path, 't')).toBe(0);

    const checkpoints = startWalCheckpoints(path, 10);
    try {
      for (let n = 1; n < 200; n++) {
        insert.run(n);
        if (n % 20 === 0) await sleep(5);
      }
      await eventually(() => rowsCheckpointed(path, 't') === 200, 'every row copied into the file');
      // The thread reports a pass after the file shows it: the count may land a moment later.
      await eventually(() => checkpoints.stats.passes > 0, 'the passes counted');
      expect(checkpoints.stats.lastError).toBeUndefined();
    } finally {
      await checkpoints.close();
    }
  });

  it('closes its connection when stopped, so the last connection to close removes the log', async () => {
    const checkpoints = startWalCheckpoints(path, 10);
    await eventually(() => checkpoints.stats.passes > 0, 'a pass');
    await checkpoints.close();
    writer.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('keeps a process that has nothing else to do alive until close() has stopped the thread', () => {
    const script = `
      const { startWalCheckpoints } = require(${JSON.stringify(join(__dirname, 'wal-checkpoints.ts'))});
      const checkpoints = startWalCheckpoints(${JSON.stringify(path)}, 10);
      // Closed once a pass is counted (the thread's start can take a while on a busy machine), or after 10 s;
      // from then on only close() keeps the process alive.
      const started = Date.now();
      const waiting = setInterval(() => {
        if (checkpoints.stats.passes === 0 && Date.now() - started < 10000) return;
        clearInterval(waiting);
        checkpoints.close().then(() => console.log('closed after', checkpoints.stats.passes > 0 ? 'passes' : 'none'));
      }, 10);
    `;
    const output = execFileSync(process.execPath, ['--require', join(__dirname, '../../../scripts/register-ts.js'), '-e', script], { encoding: 'utf8' });
    expect(output.trim()).toBe('closed after passes');
  });

  it('reports passes that keep failing once, not at every pass', async () => {
    const notDatabase = join(dir, 'not-a-database.sqlite');
    writeFileSync(notDatabase, 'x'.repeat(4096));
    const reported: string[] = [];
    const checkpoints = startWalCheckpoints(notDatabase, 5, (message) => reported.push(message));
    try {
      await eventually(() => checkpoints.stats.lastError !== undefined, 'a failure');
      await sleep(100);
      expect(reported).toEqual([expect.stringMatching(/not a database/)]);
      expect(checkpoints.stats.passes).toBe(0);
    } finally {
      await checkpoints.close();
    }
  });

  it('reports a file it cannot open, and still stops cleanly', async () => {
    const reported: string[] = [];
    const checkpoints = startWalCheckpoints(join(dir, 'missing', 'file.sqlite'), 10, (message) => reported.push(message));
    await eventually(() => checkpoints.stats.lastError !== undefined, 'a failure');
    expect(checkpoints.stats.lastError).toMatch(/directory does not exist|unable to open/);
    expect(reported).toEqual([checkpoints.stats.lastError]);
    await expect(checkpoints.close()).resolves.toBeUndefined();
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});
