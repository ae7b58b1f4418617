import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiKey } from '@deals/platform';

/**
 * With no API_KEYS configured, a local development key with every role, kept in DATA_DIR so it
 * stays the same across restarts. Never used when keys are configured.
 */
export function developmentKey(dataDir: string): ApiKey {
  const file = join(dataDir, 'dev-api-key');
  if (!existsSync(file)) writeFileSync(file, `dev_${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  return { key: readFileSync(file, 'utf8').trim(), actor: 'local-developer', roles: ['sales', 'auditor', 'analyst', 'admin'] };
}
