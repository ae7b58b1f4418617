import { mkdirSync } from 'node:fs';
import { type AppConfig, ConfigError, loadConfig } from '@deals/platform';
import { type DynamicModule, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { appLogger } from '../infrastructure/app-logger';

/** The configuration, or the process ends at once with a message naming the wrong or missing setting. */
export function configOrExit(check: (config: AppConfig) => void = () => {}): AppConfig {
  try {
    const config = loadConfig();
    check(config);
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`Configuration error: ${error.message}`);
    process.exit(1);
  }
}

/**
 * Starts a worker process (the projector, the relay): its module over HTTP on HOST:PORT for health
 * and metrics. On SIGTERM or SIGINT it closes the application, whose workers finish the batch in
 * hand, store their checkpoint and release their lease, then exits 0. (Nest's own shutdown hooks
 * would re-raise the signal and end the process with it, not with 0.)
 */
export async function startWorkerApp(name: string, config: AppConfig, module: DynamicModule): Promise<NestFastifyApplication> {
  const logger = new Logger(name);
  mkdirSync(config.dataDir, { recursive: true });
  const app = await NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter({ return503OnClosing: true }), {
    logger: appLogger(config, ['log', 'warn', 'error']),
    abortOnError: false,
  });
  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.log(`${signal}: finishing the batch in hand, storing the checkpoint, releasing the lease`);
    app.close().then(
      () => {
        logger.log('Stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error(`Stopping failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  await app.listen(config.port, config.host);
  logger.log(`${name} listening on ${await app.getUrl()} (GET /health, GET /metrics)`);
  return app;
}
