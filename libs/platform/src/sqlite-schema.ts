import type Database from 'better-sqlite3';

/**
 * Creates the schema of a new SQLite file at `version`, accepts a file already at it, and refuses
 * any other, such as a file written by a newer build, rather than guess at its layout.
 */
export function ensureSqliteSchema(db: Database.Database, path: string, version: number, ddl: string): void {
  db.transaction(() => {
    const current = Number(db.pragma('user_version', { simple: true }));
    if (current === version) return;
    if (current !== 0) throw new Error(`${path} has schema version ${current}; this build knows ${version}`);
    db.exec(ddl);
    db.pragma(`user_version = ${version}`);
  }).immediate();
}
