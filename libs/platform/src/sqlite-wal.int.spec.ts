import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A process that, at `start` (epoch ms), opens the file and puts it in WAL mode, and prints the mode. */
function opener(path: string, start: number): Promise<string> {
  const script = `
    const Database = require('better-sqlite3');
    const { useWal } = require(${JSON.stringify(join(__dirname, 'sqlite-wal.ts'))});
    while (Date.now() < ${start}) {} // both processes go at the same instant
    const db = new Database(${JSON.stringify(path)});
    useWal(db, ${JSON.stringify(path)}, 5000);
    console.log(db.pragma('journal_mode', { simple: true }));
  `;
  return run(process.execPath, ['--require', join(__dirname, '../../../scripts/register-ts.js'), '-e', script], { encoding: 'utf8' }).then(({ stdout }) => stdout.trim());
}

describe('useWal', () => {
  // Without the retry, one of two processes opening a new file at once failed with SQLITE_BUSY in
  // about a third of the rounds (a projector and its standby starting together).
  it('puts a new file in WAL mode from two processes opening it at the same instant', async () => {
    for (let round = 0; round < 12; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'sqlite-wal-'));
      try {
        const path = join(dir, 'shared.sqlite');
        const start = Date.now() + 1_000;
        expect(await Promise.all([opener(path, start), opener(path, start)])).toEqual(['wal', 'wal']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }, 60_000);
});
