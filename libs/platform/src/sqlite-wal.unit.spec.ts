import Database from 'better-sqlite3';
import { useWal } from './sqlite-wal';

/** A connection whose journal-mode switch answers each of `answers` in turn: a mode, or an error to throw. */
function connection(answers: Array<string | Error>): { readonly db: Database.Database; readonly tries: () => number } {
  let tries = 0;
  const db = {
    pragma: (source: string) => {
      if (source.startsWith('busy_timeout')) return undefined;
      const answer = answers[Math.min(tries++, answers.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as Database.Database;
  return { db, tries: () => tries };
}

const busy = (): Error => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

describe('useWal', () => {
  it('given another process switching the same file, when SQLite answers busy, then it tries again until the switch is made', () => {
    const { db, tries } = connection([busy(), busy(), 'wal']);
    useWal(db, 'shared.sqlite', 1_000);
    expect(tries()).toBe(3);
  });

  it('given a lock that is never released, when the timeout passes, then it fails with SQLite’s error', () => {
    const { db } = connection([busy()]);
    expect(() => useWal(db, 'shared.sqlite', 50)).toThrow('database is locked');
  });

  it('given any other error, then it fails at once', () => {
    const { db, tries } = connection([Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' })]);
    expect(() => useWal(db, 'shared.sqlite', 1_000)).toThrow('disk I/O error');
    expect(tries()).toBe(1);
  });

  it('given a connection that cannot use WAL (in memory), then it says so', () => {
    const db = new Database(':memory:');
    try {
      expect(() => useWal(db, ':memory:', 1_000)).toThrow(':memory: cannot use WAL (journal mode memory)');
    } finally {
      db.close();
    }
  });
});
