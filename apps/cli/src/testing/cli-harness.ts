import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DealEventReader, type StoredDealEvent } from '@deals/deal-streams';
import { EmbeddedEventStore } from '@deals/event-store';
import { runCli } from '../cli';
import type { ExitCode } from '../shared/cli-io';
import { historyCsv } from './history-fixture';

export interface CliRun {
  readonly code: ExitCode;
  readonly stdout: string;
  readonly stderr: string;
}

/** A fresh DATA_DIR per test, removed afterwards: tests never share a store. */
export function tempDataDir(): { readonly dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'deals-cli-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A fresh DATA_DIR holding the fixture history, imported and projected by the CLI itself: the
 * starting point of the tests that read projections (export, replay).
 */
export async function importedHistory(): Promise<{ readonly data: ReturnType<typeof tempDataDir>; readonly env: Record<string, string> }> {
  const data = tempDataDir();
  const env = { DATA_DIR: data.dir };
  const file = join(data.dir, 'history.csv');
  writeFileSync(file, historyCsv);
  await cli(['import', file], env);
  expect((await cli(['rebuild'], env)).code).toBe(0);
  return { data, env };
}

/** Runs one command line in this process, with its output captured, as `npm run cli -- …` would. */
export async function cli(argv: readonly string[], env: Record<string, string>, cwd = process.cwd()): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd,
  });
  return { code, stdout, stderr };
}

/** Every deal event in the store, in global order, read back as today's schema. */
export async function storedEvents(dataDir: string): Promise<StoredDealEvent[]> {
  const store = EmbeddedEventStore.open({ path: join(dataDir, 'events.sqlite') });
  const reader = new DealEventReader();
  try {
    const events: StoredDealEvent[] = [];
    for await (const recorded of store.readAll()) events.push(reader.read(recorded));
    return events;
  } finally {
    await store.close();
  }
}

/**
 * The log of changed documents each connection's cache follows, and its sequence; the counters'
 * stamps (countersSince): a record of how the read models were written (commit by commit, or as a
 * catch-up), not of what they hold.
 */
const bookkeepingTables = ['document_changes', 'sqlite_sequence', 'counter_stamps'];
const bookkeepingColumns = new Set(['counters.stamp']);

/**
 * Every row of every table of an embedded read-model file but its bookkeeping, sorted, with numbers
 * rounded to 9 significant digits: sums of the same increments batched differently may differ in the last bit.
 */
export function dumpReadModels(file: string): Record<string, string[]> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).filter(
      ({ name }) => !bookkeepingTables.includes(name),
    );
    return Object.fromEntries(
      tables.map(({ name }) => [
        name,
        (db.prepare(`SELECT * FROM "${name}"`).all() as Array<Record<string, unknown>>)
          .map((row) =>
            JSON.stringify(row, (key, value: unknown) =>
              bookkeepingColumns.has(`${name}.${key}`) ? undefined : typeof value === 'number' ? Number(value.toPrecision(9)) : value,
            ),
          )
          .sort(),
      ]),
    );
  } finally {
    db.close();
  }
}
