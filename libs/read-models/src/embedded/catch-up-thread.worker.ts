// The read models' catch-up thread (CatchUpThread): commits what the store hands it, in order, on a
// connection of its own.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { CatchUpReply, CatchUpRequest, CatchUpThreadData } from './catch-up-thread';
import { prepareStatements } from './embedded-statements';
import { EmbeddedWrites, useReadModelPragmas } from './embedded-writes';

if (parentPort) {
  const port = parentPort;
  const { path } = workerData as CatchUpThreadData;
  const db = new Database(path, { fileMustExist: true });
  useReadModelPragmas(db, path);
  const writes = new EmbeddedWrites(db, prepareStatements(db));
  port.on('message', (request: CatchUpRequest) => {
    if (request === null) {
      db.close();
      port.close();
      return;
    }
    try {
      writes.commit(request.projection, request.changes, request.checkpoint, true);
      port.postMessage({ id: request.id } satisfies CatchUpReply);
    } catch (error) {
      const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
      port.postMessage({
        id: request.id,
        error: { name: String(name ?? 'Error'), message: String(message ?? error), ...(typeof code === 'string' ? { code } : {}) },
      } satisfies CatchUpReply);
    }
  });
}
