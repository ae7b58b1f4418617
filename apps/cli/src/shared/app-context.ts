import { mkdirSync } from 'node:fs';
import { type AppConfig, ConfigError, loadConfig } from '@deals/platform';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CliModule } from '../cli.module';
import { CliFailure, type CliIo } from './cli-io';

/** The same settings as the API (DATA_DIR, READ_MODEL_STORE, REDIS_URL, …); a wrong one fails naming it. */
export function cliConfig(io: CliIo): AppConfig {
  try {
    return loadConfig(io.env, io.cwd);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliFailure(`Configuration error: ${error.message}`);
    throw error;
  }
}

/**
 * Boots the CLI's Nest context, runs `work` in it and closes it (stores flushed and closed) whatever
 * happens, so a failed command never leaves a SQLite file or a Redis connection open.
 */
export async function withCliContext<T>(
  config: AppConfig,
  work: (context: INestApplicationContext) => Promise<T>,
): Promise<T> {
  mkdirSync(config.dataDir, { recursive: true });
  const context = await NestFactory.createApplicationContext(CliModule.forRoot(config), {
    logger: ['error'],
    abortOnError: false,
  });
  try {
    return await work(context);
  } finally {
    await context.close();
  }
}
