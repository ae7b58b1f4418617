/**
 * The crash test's child: several concurrent writers append to one store until the parent kills the
 * process. It prints one JSON line `{ stream, ids }` per acknowledged append, and tags every event with
 * its append (`{ append, index, count }`) so the parent can tell a half-written append from a whole one.
 *
 * Usage: node --require scripts/register-ts.js crash-writer.ts <database file>
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { ExpectedRevision } from '../../event-store.port';
import { EmbeddedEventStore } from '../embedded-event-store';

const writers = 8;
const sharedStreams = 4;
/** Ends an orphan if the parent died before killing it. */
const lifetimeMs = 30_000;

async function write(store: EmbeddedEventStore, writer: number): Promise<never> {
  // The file may hold earlier runs: continue the writer's own stream where it ends.
  let ownRevision: ExpectedRevision = 'no_stream';
  for await (const last of store.readStream(`own-${writer}`, { direction: 'backwards', maxCount: 1 })) {
    ownRevision = last.revision;
  }
  for (let turn = 0; ; turn += 1) {
    // Alternate an exact expectation on the writer's own stream with 'any' on streams all writers share.
    const own = turn % 2 === 0;
    const stream = own ? `own-${writer}` : `shared-${randomInt(sharedStreams)}`;
    const append = randomUUID();
    const count = 1 + randomInt(4);
    const events = Array.from({ length: count }, (_, index) => ({
      id: randomUUID(),
      type: 'CrashTested',
      data: { append, index, count },
      metadata: { writer },
    }));
    const result = await store.appendToStream(stream, events, { expectedRevision: own ? ownRevision : 'any' });
    if (own) ownRevision = result.nextExpectedRevision;
    // Synchronous on a pipe, so the line is out before the next append starts.
    process.stdout.write(`${JSON.stringify({ stream, ids: events.map((event) => event.id) })}\n`);
  }
}

const file = process.argv[2];
if (file === undefined) throw new Error('Usage: crash-writer.ts <database file>');
const store = EmbeddedEventStore.open({ path: file });
setTimeout(() => process.exit(2), lifetimeMs).unref();
for (let writer = 0; writer < writers; writer += 1) {
  write(store, writer).catch((error: unknown) => {
    process.stderr.write(`writer ${writer} failed: ${String(error)}\n`);
    process.exit(1);
  });
}
