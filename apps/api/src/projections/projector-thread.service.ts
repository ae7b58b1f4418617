import { Worker } from 'node:worker_threads';
import { type BeforeApplicationShutdown, Injectable, Logger, type LogLevel, type OnApplicationBootstrap } from '@nestjs/common';
import { type AppConfig, threadEntry } from '@deals/platform';
import type { ProjectorThreadData, ProjectorThreadMessage } from './projector-thread';

/** How long a stopping thread may take to commit the batch in hand before it is ended. */
const stopTimeoutMs = 30_000;
/** Before a thread that failed is started again. */
const restartDelayMs = 1_000;

/**
 * API_WORKERS=in-process: the projections run on a worker thread of the API process (projector-thread.ts),
 * so their commits do not hold up the requests on the main thread. Started before the API answers,
 * stopped gracefully before it closes; started again a second after it fails.
 */
@Injectable()
export class ProjectorThread implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Projections');
  private worker: Worker | undefined;
  private stopping = false;
  private restart: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly logLevels: LogLevel[],
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restart);
    const worker = this.worker;
    if (worker === undefined) return;
    const exited = new Promise<void>((done) => worker.once('exit', () => done()));
    worker.postMessage('stop');
    const timeout = setTimeout(() => void worker.terminate(), stopTimeoutMs);
    await exited;
    clearTimeout(timeout);
  }

  private start(): Promise<void> {
    const data: ProjectorThreadData = { config: this.config, logLevels: this.logLevels };
    const { script, execArgv } = threadEntry(__dirname, 'projector-thread');
    const worker = new Worker(script, { workerData: data, execArgv });
    this.worker = worker;
    let running = false;
    return new Promise((started, failed) => {
      worker.on('message', (message: ProjectorThreadMessage) => {
        if (message.type === 'started') {
          running = true;
          started();
        } else {
          // Stopped: its stores are closed; nothing of it is left to wait for.
          void worker.terminate();
        }
      });
      worker.once('error', (error) => {
        this.logger.error(`The projections' thread failed: ${error.stack ?? error.message}`);
        failed(error);
      });
      worker.once('exit', (code) => {
        if (this.worker !== worker) return;
        this.worker = undefined;
        // One that never started fails the API's start instead (above).
        if (!running || this.stopping) return;
        this.logger.error(`The projections' thread ended (${code}); starting it again in ${restartDelayMs} ms`);
        this.restart = setTimeout(() => void this.start().catch(() => undefined), restartDelayMs);
      });
    });
  }
}
