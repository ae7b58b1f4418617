// Each baseline server runs in a process of its own, apart from the load generator: the parent starts a
// baseline module with `serve` and reads its URL; the child listens on a free port and stops on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { root } from '../harness';
import { join } from 'node:path';

/** The key the load generator sends by default. */
export const benchApiKey = 'bench-load-key-0001';

export interface BaselineServer {
  readonly url: string;
  /** Distinct messages of the server's 500 answers (the store's failures), first seen first. */
  serverErrors(): readonly string[];
  stop(): Promise<void>;
}

const serverErrorPrefix = 'server error: ';

/** Child side: reports a failed request's message once, for the parent's serverErrors(). */
export function serverErrorReporter(): (message: string) => void {
  const seen = new Set<string>();
  return (message) => {
    if (seen.has(message) || seen.size >= 20) return;
    seen.add(message);
    process.stderr.write(`${serverErrorPrefix}${message.replace(/\s+/g, ' ')}\n`);
  };
}

/** Child side: listens on a free port, says where, and closes (then runs `onStop`) on SIGTERM. */
export async function serve(server: Server, onStop: () => Promise<void> = async () => undefined): Promise<void> {
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => {
      onStop().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(error);
          process.exit(1);
        },
      );
    });
  });
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = once(child, 'exit').then(() => undefined);
  child.kill('SIGTERM');
  return exited;
}

/** Parent side: runs `bench/<module> serve ...args` and answers once it listens. */
export async function startServerProcess(module: string, args: readonly string[], onStopped: () => Promise<void> = async () => undefined): Promise<BaselineServer> {
  const child = spawn(process.execPath, ['--require', join(root, 'scripts/register-ts.js'), join(root, 'bench', module), 'serve', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const errors: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.startsWith(serverErrorPrefix)) errors.push(line.slice(serverErrorPrefix.length));
    else process.stderr.write(`${line}\n`);
  });
  try {
    const url = await new Promise<string>((done, fail) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const match = /^listening on (http:\/\/\S+)$/.exec(line);
        if (match) done(match[1]!);
      });
      child.once('exit', (code) => fail(new Error(`bench/${module} exited with ${code} before listening`)));
      child.once('error', fail);
    });
    return {
      url,
      serverErrors: () => errors,
      async stop() {
        await stopChild(child);
        await onStopped();
      },
    };
  } catch (error) {
    await stopChild(child);
    await onStopped();
    throw error;
  }
}
