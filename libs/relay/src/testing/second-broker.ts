/**
 * A broker of the test's own, on free ports and in a temporary cache dir, started and stopped with
 * infra/kafka/kafka.sh, so a test can take it away without disturbing the shared broker on 9092.
 * The jars come from the shared cache when it has them (a symlink), else the script fetches them.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../../../..');
const script = path.join(root, 'infra/kafka/kafka.sh');
const sharedCache = process.env['KAFKA_CACHE_DIR'] ?? path.join(root, '.infra-cache/kafka');

export interface SecondBroker {
  /** host:port of its client listener. */
  readonly address: string;
  start(): Promise<void>;
  /** SIGTERM and wait, as `kafka.sh stop`. */
  stop(): Promise<void>;
  /** Stops it and removes its cache dir. */
  destroy(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('No free port');
  return address.port;
}

export async function secondBroker(): Promise<SecondBroker> {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-second-'));
  for (const entry of fs.existsSync(sharedCache) ? fs.readdirSync(sharedCache) : []) {
    if (entry.startsWith('jars-') && fs.existsSync(path.join(sharedCache, entry, '.complete'))) {
      fs.symlinkSync(path.join(sharedCache, entry), path.join(cache, entry));
    }
  }
  const port = await freePort();
  const controllerPort = await freePort();
  const env = { ...process.env, KAFKA_CACHE_DIR: cache, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controllerPort), KAFKA_HEAP_MB: '384' };
  const kafkaSh = async (command: 'start' | 'stop') => {
    try {
      await run(script, [command], { env, timeout: 120_000 });
    } catch (error) {
      const { stderr } = error as { stderr?: string };
      throw new Error(`kafka.sh ${command} of the second broker failed: ${stderr ?? String(error)}`);
    }
  };
  return {
    address: `127.0.0.1:${port}`,
    start: () => kafkaSh('start'),
    stop: () => kafkaSh('stop'),
    async destroy() {
      await kafkaSh('stop');
      fs.rmSync(cache, { recursive: true, force: true });
    },
  };
}
