// The projections of an API with API_WORKERS=in-process, on a worker thread of its own (started by
// ProjectorThread): the projector app's work, under the same `projector` lease, with its own
// connections to the stores, so that projecting does not hold up the requests on the main thread.
import 'reflect-metadata';
import { parentPort, workerData } from 'node:worker_threads';
import type { AppConfig } from '@deals/platform';
import type { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { appLogger } from '../infrastructure/app-logger';
import { ProjectingModule } from './projecting.module';

export interface ProjectorThreadData {
  readonly config: AppConfig;
  readonly logLevels: LogLevel[];
}

/** From the thread: it runs (or stands by for the lease), or it has stopped, after committing what it held. */
export type ProjectorThreadMessage = { readonly type: 'started' } | { readonly type: 'stopped' };

async function main(port: NonNullable<typeof parentPort>): Promise<void> {
  const { config, logLevels } = workerData as ProjectorThreadData;
  const context = await NestFactory.createApplicationContext(ProjectingModule.forRoot(config), { logger: appLogger(config, logLevels), abortOnError: false });
  // Any message asks it to stop: the runners commit the batch in hand and the lease is released.
  port.once('message', () => {
    void context.close().then(() => port.postMessage({ type: 'stopped' } satisfies ProjectorThreadMessage));
  });
  port.postMessage({ type: 'started' } satisfies ProjectorThreadMessage);
}

if (parentPort) {
  const port = parentPort;
  main(port).catch((error: unknown) => {
    // Thrown out of the thread: the API sees it as the worker's 'error'.
    setImmediate(() => {
      throw error;
    });
  });
}
