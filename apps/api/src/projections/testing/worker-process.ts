/**
 * Starts the projector or relay app (or the API) as a real child process from its TypeScript
 * sources, for the tests that run them side by side, kill them and restart them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../../../../..');

export const workerEntries = {
  api: 'apps/api/src/main.ts',
  projector: 'apps/projector/src/main.ts',
  relay: 'apps/relay/src/main.ts',
} as const;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  readonly exited: Promise<Exit>;
  /** GET a path on the process's own port, parsed as JSON. */
  get(pathname: string): Promise<{ readonly status: number; readonly body: any }>;
  /** Polls GET /health until `ready` accepts it (or the process exits, or `timeoutMs` passes); returns that body. */
  healthUntil(ready: (health: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Sends the signal and waits for the exit. */
  stop(signal: NodeJS.Signals): Promise<Exit>;
}

/** Runs the app to its end (e.g. a refused setting): its exit and output. */
export async function runToExit(app: keyof typeof workerEntries, env: Record<string, string>): Promise<Exit & { readonly output: string }> {
  const child = launch(app, env);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += String(chunk)));
  child.stderr?.on('data', (chunk: Buffer) => (output += String(chunk)));
  const exit = await exitOf(child);
  return { ...exit, output };
}

/** Starts the app on a free port and resolves once it listens. */
export async function startWorker(app: keyof typeof workerEntries, env: Record<string, string>, timeoutMs = 60_000): Promise<WorkerProcess> {
  const child = launch(app, { PORT: '0', ...env });
  let output = '';
  const exited = exitOf(child);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${app} did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += String(chunk);
      const listening = /listening on (http:\/\/[^\s]+)/.exec(output);
      if (listening?.[1]) {
        clearTimeout(timer);
        resolve(listening[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`${app} exited (${exit.code ?? exit.signal}) before listening:\n${output}`));
    });
  });
  const get = async (pathname: string) => {
    const response = await fetch(`${url}${pathname}`);
    const text = await response.text();
    return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
  let exit: Exit | undefined;
  void exited.then((value) => (exit = value));
  return {
    child,
    output: () => output,
    exited,
    get,
    async healthUntil(ready, deadlineMs = 60_000) {
      const deadline = Date.now() + deadlineMs;
      for (;;) {
        if (exit) throw new Error(`${app} exited (${exit.code ?? exit.signal}):\n${output}`);
        const health = (await get('/health')).body;
        if (ready(health)) return health;
        if (Date.now() > deadline) throw new Error(`${app}'s health never became ready: ${JSON.stringify(health)}\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop(signal) {
      if (!exit) child.kill(signal);
      return exited;
    },
  };
}

function launch(app: keyof typeof workerEntries, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--require', path.join(root, 'scripts/register-ts.js'), path.join(root, workerEntries[app])], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', NO_COLOR: '1', HOST: '127.0.0.1', SEED_DEMO: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exitOf(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}
