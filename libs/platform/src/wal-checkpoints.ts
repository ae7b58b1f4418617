import { Worker } from 'node:worker_threads';

export interface WalCheckpointsStats {
  /** Checkpoint passes that succeeded. */
  readonly passes: number;
  /** The last failure of a pass or of the thread, if any; the writer's own checkpoints go on regardless. */
  readonly lastError: string | undefined;
}

export interface WalCheckpoints {
  readonly stats: WalCheckpointsStats;
  /** Stops the thread once its pass in hand ends, and closes its connection. */
  close(): Promise<void>;
}

interface ThreadData {
  readonly driver: string;
  readonly path: string;
  readonly intervalMs: number;
}

type ThreadMessage = { readonly type: 'pass' } | { readonly type: 'error'; readonly message: string };

/**
 * The thread's body. It runs from its source text (`eval`), so that the same code starts under the
 * TypeScript loader and from the compiled build alike: it may use nothing but what it requires itself
 * (nor be instrumented for coverage).
 */
function checkpointThread(): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { driver, path, intervalMs } = workerData as ThreadData;
  const Database = require(driver) as typeof import('better-sqlite3');
  const port = parentPort!;
  const failed = (error: unknown) => port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) } satisfies ThreadMessage);
  let db: import('better-sqlite3').Database;
  try {
    db = new Database(path, { fileMustExist: true });
  } catch (error) {
    failed(error);
    port.close();
    return;
  }
  const timer = setInterval(() => {
    try {
      // PASSIVE copies what it can without waiting for the writer or blocking it.
      db.pragma('wal_checkpoint(PASSIVE)');
      port.postMessage({ type: 'pass' } satisfies ThreadMessage);
    } catch (error) {
      failed(error);
    }
  }, intervalMs);
  port.once('message', () => {
    clearInterval(timer);
    db.close();
    port.close();
  });
}

/**
 * Copies a WAL-mode SQLite file's log into the database on a thread of its own, every `intervalMs`.
 *
 * A writer on the event loop otherwise copies the log itself once it passes its autocheckpoint size,
 * inside a commit: for the idempotency store, 40 MB of random pages and an fsync, 50–70 ms in which
 * no request is answered. With this thread the writer's own checkpoint finds the log already copied
 * and only starts it again from the beginning, which a checkpoint on another connection cannot do
 * while the writer keeps committing. The writer's autocheckpoint stays on: if the thread fails or
 * falls behind, checkpoints happen as before.
 */
export function startWalCheckpoints(
  path: string,
  intervalMs: number,
  /** Told when passes start to fail (or fail otherwise), once, not at every pass; and when the thread fails. */
  onError: (message: string) => void = () => {},
): WalCheckpoints {
  const data: ThreadData = { driver: require.resolve('better-sqlite3'), path, intervalMs };
  const worker = new Worker(`(${checkpointThread.toString()})()`, { eval: true, workerData: data });
  // Never what keeps a process alive: at exit the connection is simply dropped, as a crash would.
  worker.unref();
  let passes = 0;
  let lastError: string | undefined;
  let running = true;
  const exited = new Promise<void>((done) =>
    worker.once('exit', () => {
      running = false;
      done();
    }),
  );
  // The failure being reported; a pass that succeeds ends it, so a later one is reported again.
  let failing: string | undefined;
  const failed = (message: string) => {
    if (message !== failing) onError(message);
    failing = lastError = message;
  };
  worker.on('message', (message: ThreadMessage) => {
    if (message.type === 'error') return failed(message.message);
    passes += 1;
    failing = undefined;
  });
  worker.on('error', (error: unknown) => failed(error instanceof Error ? error.message : String(error)));
  return {
    get stats() {
      return { passes, lastError };
    },
    close: async () => {
      if (running) {
        // Held open until the thread has ended: waiting on an unreferenced thread alone, a process
        // whose other work is done would exit mid-shutdown.
        worker.ref();
        worker.postMessage('stop');
      }
      await exited;
    },
  };
}
