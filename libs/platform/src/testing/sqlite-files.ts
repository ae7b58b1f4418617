import { copyFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * Rows of `table` in a WAL-mode file's database alone, read from a copy without its log: what
 * checkpoints have copied so far (0 while even the table is only in the log).
 */
export function rowsCheckpointed(path: string, table: string): number {
  const copy = `${path}.checkpointed`;
  copyFileSync(path, copy);
  const db = new Database(copy, { readonly: true });
  try {
    if (db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(table) === undefined) return 0;
    return (db.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n;
  } finally {
    db.close();
    rmSync(copy, { force: true });
  }
}
