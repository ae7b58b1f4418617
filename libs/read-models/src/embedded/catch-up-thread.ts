import { Worker } from 'node:worker_threads';
import { threadEntry } from '@deals/platform';
import type { NetChanges } from '../adapter-rules';
import type { Checkpoint } from '../read-model-store.port';

/** To the thread: a commit to make, or (null) the end. */
export type CatchUpRequest = { readonly id: number; readonly projection: string; readonly changes: NetChanges; readonly checkpoint: Checkpoint } | null;

/** From the thread: a commit made, or why it was not. */
export interface CatchUpReply {
  readonly id: number;
  readonly error?: { readonly name: string; readonly message: string; readonly code?: string };
}

export interface CatchUpThreadData {
  readonly path: string;
}

interface Pending {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Catch-up commits (CommitOptions.catchingUp) on a thread with a connection of its own to the
 * read-model file. SQLite's work in a commit holds the thread that makes it, and a rebuild spent about
 * a third of its time there: the projection runner projects the next batch while the one before
 * commits, so with the commit here its two halves run on two cores. The thread starts at the first
 * catch-up commit and commits in the order it is asked; the store waits for it before writing on its
 * own connection.
 */
export class CatchUpThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private commits = 0;
  /** Settles with the latest commit asked: the thread commits in order, so every earlier one has ended too. */
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  /** Catch-up commits this thread has made. */
  get committed(): number {
    return this.commits;
  }

  commit(projection: string, changes: NetChanges, checkpoint: Checkpoint): Promise<void> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    const committed = new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Held open while a commit is under way: a process waiting only for it must not exit meanwhile.
      worker.ref();
      try {
        worker.postMessage({ id, projection, changes, checkpoint } satisfies CatchUpRequest);
      } catch (error) {
        this.settled(worker, id);
        throw error;
      }
    });
    this.last = committed.catch(() => {});
    return committed;
  }

  /** True while a commit asked has not ended. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Resolves once every commit asked so far has ended, whether it succeeded or not. */
  idle(): Promise<void> {
    return this.last;
  }

  /** Ends the thread once its commits in hand have ended, its connection closed. */
  async close(): Promise<void> {
    await this.last;
    const worker = this.worker;
    if (worker === undefined) return;
    this.worker = undefined;
    const exited = new Promise<void>((done) => worker.once('exit', () => done()));
    worker.ref();
    worker.postMessage(null satisfies CatchUpRequest);
    await exited;
  }

  private start(): Worker {
    const { script, execArgv } = threadEntry(__dirname, 'catch-up-thread.worker');
    const worker = new Worker(script, { workerData: { path: this.path } satisfies CatchUpThreadData, execArgv });
    worker.unref();
    worker.on('message', (reply: CatchUpReply) => {
      const pending = this.settled(worker, reply.id);
      if (reply.error === undefined) {
        this.commits++;
        pending?.resolve();
      } else pending?.reject(Object.assign(new Error(reply.error.message), reply.error));
    });
    const failed = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const { reject } of this.pending.values()) reject(error);
      this.pending.clear();
    };
    worker.on('error', failed);
    worker.on('exit', (code) => failed(new Error(`The read models' catch-up thread exited (code ${code}) before its commit ended`)));
    return worker;
  }

  /** A commit no longer under way: the thread stops holding the process open once none is. */
  private settled(worker: Worker, id: number): Pending | undefined {
    const pending = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0) worker.unref();
    return pending;
  }
}
