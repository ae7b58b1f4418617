import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where a worker thread starts: its script, and the flags its Node needs to run it. */
export interface ThreadEntry {
  readonly script: string;
  readonly execArgv: string[];
}

/** The loader the tests' child processes and the benchmark run TypeScript sources under. */
const typescriptLoader = join(__dirname, '../../../scripts/register-ts.js');

/**
 * The entry `<name>` of a worker thread beside `dir` (the caller's `__dirname`): the compiled
 * JavaScript in a build, or the TypeScript source, under the loader, in the tests and the benchmark.
 */
export function threadEntry(dir: string, name: string): ThreadEntry {
  const compiled = join(dir, `${name}.js`);
  return existsSync(compiled) ? { script: compiled, execArgv: [] } : { script: join(dir, `${name}.ts`), execArgv: ['--require', typescriptLoader] };
}
