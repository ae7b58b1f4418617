import { copyFileSync, rmSync } from 'node:fs';
import Database, { SqliteError } from 'better-sqlite3';

/**
 * Rows of `table` in a WAL-mode file's database alone, read from a copy without its log: what
 * checkpoints have copied so far (0 while even the table is only in the log). `undefined` when the
 * copy caught a checkpoint halfway through writing the file, which a caller polls past.
 */
export function rowsCheckpointed(path: string, table: string): number | undefined {
  const copy = `${path}.checkpointed`;
  copyFileSync(path, copy);
  const db = new Database(copy, { readonly: true });
  try {
    if (db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(table) === undefined) return 0;
    return (db.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n;
  } catch (error) {
    if (error instanceof SqliteError && (error.code === 'SQLITE_CORRUPT' || error.code === 'SQLITE_NOTADB')) return undefined;
    throw error;
  } finally {
    db.close();
    rmSync(copy, { force: true });
  }
}
