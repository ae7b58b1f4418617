/**
 * The crash test's child: catches the counting projection up over the history in an embedded event
 * store, printing a line after each commit, until it is done (it prints "done") or the parent kills it.
 *
 * Configured by environment: CRASH_EVENTS (the event store file), CRASH_STORE (`embedded:<file>` or
 * `redis:<key prefix>`, with REDIS_URL), CRASH_PROJECTION (its name), CRASH_BATCH (events per commit).
 */
import { EmbeddedEventStore } from '@deals/event-store';
import { EmbeddedReadModelStore, type ReadModelStore, RedisReadModelStore } from '@deals/read-models';
import { ProjectionRunner } from '../projection-runner';
import { countingProjection } from './counting-projection';

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

async function openStore(spec: string): Promise<ReadModelStore> {
  const [kind, where] = [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)];
  if (kind === 'embedded') return EmbeddedReadModelStore.open(where);
  if (kind === 'redis') return RedisReadModelStore.connect(setting('REDIS_URL'), { keyPrefix: where });
  throw new Error(`Unknown CRASH_STORE ${spec}`);
}

async function main(): Promise<void> {
  const events = EmbeddedEventStore.open({ path: setting('CRASH_EVENTS') });
  const store = await openStore(setting('CRASH_STORE'));
  const runner = new ProjectionRunner(events, store, countingProjection(setting('CRASH_PROJECTION')), {
    batchSize: Number(setting('CRASH_BATCH')),
  });
  // Synchronous on a pipe, so the parent's count of commits is never behind.
  await runner.catchUp((progress) => process.stdout.write(`${progress.position}\n`));
  process.stdout.write('done\n');
  await store.close();
  await events.close();
}

/** Ends an orphan if the parent died before killing it. */
setTimeout(() => process.exit(3), 60_000).unref();
main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
