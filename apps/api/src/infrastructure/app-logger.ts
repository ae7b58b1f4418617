import type { AppConfig } from '@deals/platform';
import { ConsoleLogger, type LogLevel } from '@nestjs/common';

/** Nest's logger in the configured format: text, or with LOG_FORMAT=json one JSON object per line. */
export function appLogger(config: Pick<AppConfig, 'logFormat'>, logLevels: LogLevel[]): ConsoleLogger {
  return config.logFormat === 'json' ? new ConsoleLogger({ json: true, logLevels }) : new ConsoleLogger({ logLevels });
}
