import type Database from 'better-sqlite3';

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Sets the connection's busy timeout, then puts it in WAL mode, waiting as long for other processes.
 * Set first, the timeout covers the schema work that follows too. Two processes that open a new file
 * at once both hold a shared lock and both want the exclusive one the switch needs; SQLite then
 * answers one of them SQLITE_BUSY at once instead of calling its busy handler (waiting could
 * deadlock), so the switch is tried again until the other has made it.
 */
export function useWal(db: Database.Database, path: string, busyTimeoutMs: number): void {
  db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`${path} cannot use WAL (journal mode ${String(mode)})`);
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw error;
      // Opening is synchronous: a short blocking pause before the next try.
      Atomics.wait(pause, 0, 0, 10);
    }
  }
}
