import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Position } from '@deals/event-store';
import type { AppConfig } from '@deals/platform';
import { EmbeddedReadModelStore, type ReadModelStore, RedisReadModelStore } from '@deals/read-models';
import { CliFailure } from '../shared/cli-io';

/**
 * Where a replay lives: a read model of its own, apart from the live one, so that replaying history
 * up to a date never touches what the service serves. Embedded: its own SQLite file in DATA_DIR.
 * Redis: its own key prefix in the same database.
 */

/** The replay's own record of what it holds, kept in the replay store under a name no projection uses. */
const manifestProjection = 'replay';
const manifestCollection = `${manifestProjection}:manifest`;
const manifestId = 'manifest';

export interface ReplayManifest {
  readonly name: string;
  /** Inclusive: the replay holds the events with occurredAt up to this instant. */
  readonly until: string;
  readonly createdAt: string;
  readonly projections: readonly string[];
}

export interface OpenReplay {
  readonly store: ReadModelStore;
  /** For people: the file or key prefix. */
  readonly describe: string;
  /** From the manifest, when the replay is complete. */
  readonly until: Date | undefined;
}

export function replayFile(config: AppConfig, name: string): string {
  return join(config.dataDir, `read-models-replay-${name}.sqlite`);
}

export function replayKeyPrefix(name: string): string {
  return `deals-replay:${name}:`;
}

export function describeReplay(config: AppConfig, name: string): string {
  return config.readModelStore === 'redis' && config.redisUrl
    ? `Redis keys prefixed ${replayKeyPrefix(name)} (REDIS_URL)`
    : replayFile(config, name);
}

export async function openReplay(config: AppConfig, name: string, options: { readonly mustExist: boolean }): Promise<OpenReplay> {
  const describe = describeReplay(config, name);
  let store: ReadModelStore;
  if (config.readModelStore === 'redis' && config.redisUrl) {
    store = await RedisReadModelStore.connect(config.redisUrl, { keyPrefix: replayKeyPrefix(name) });
  } else {
    const file = replayFile(config, name);
    if (options.mustExist && !existsSync(file)) throw new CliFailure(`No replay named ${name}: ${file} does not exist (run "npm run cli -- replay --until <date> --into ${name}")`);
    store = EmbeddedReadModelStore.open(file);
  }
  const manifest = (await store.get(manifestCollection, manifestId)) as ReplayManifest | undefined;
  if (options.mustExist && !manifest) {
    await store.close();
    throw new CliFailure(`No complete replay named ${name} in ${describe}: run "npm run cli -- replay --until <date> --into ${name}"`);
  }
  return { store, describe, until: manifest ? new Date(manifest.until) : undefined };
}

/** Removes the manifest first, so a replay interrupted half-way is never read as complete. */
export async function forgetManifest(store: ReadModelStore): Promise<void> {
  await store.reset(manifestProjection);
}

/** Written last, once every projection is replayed. */
export async function writeManifest(store: ReadModelStore, manifest: ReplayManifest, position: Position): Promise<void> {
  await store.commit(
    manifestProjection,
    [{ kind: 'put', collection: manifestCollection, id: manifestId, document: { ...manifest } }],
    { position, eventsProcessed: 0, lastRecordedAt: manifest.createdAt },
  );
}
