import type { AppConfig, Role } from '@deals/platform';
import { ApiKeyRing } from '../../../api/src/auth/api-keys';
import { CliFailure, type CliIo } from './cli-io';

export interface CliOperator {
  /** Who the audit history records; undefined in local development, where the command names it. */
  readonly actor: string | undefined;
}

/**
 * The CLI holds the same keys as the API: once API_KEYS is configured, DEALS_API_KEY must name a key
 * with one of the command's roles (admin may run everything), and that key's actor is who acted.
 * With no keys configured (local development, as for the API) anyone with the data may run it.
 */
export function authorize(config: AppConfig, io: CliIo, command: string, roles: readonly Role[]): CliOperator {
  if (config.apiKeys.length === 0) return { actor: undefined };
  const presented = io.env['DEALS_API_KEY'];
  if (!presented) {
    throw new CliFailure(`${command} needs an API key: set DEALS_API_KEY to a key from API_KEYS with the role ${['admin', ...roles].join(' or ')}`);
  }
  const key = new ApiKeyRing(config.apiKeys).find(presented);
  if (!key) throw new CliFailure('DEALS_API_KEY is not one of the keys in API_KEYS');
  if (!key.roles.includes('admin') && !roles.some((role) => key.roles.includes(role))) {
    throw new CliFailure(`${command} needs the role ${['admin', ...roles].join(' or ')}; the key of ${key.actor} has ${key.roles.join(', ')}`);
  }
  return { actor: key.actor };
}
