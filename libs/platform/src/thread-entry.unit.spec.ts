import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadEntry } from './thread-entry';

describe('threadEntry', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'thread-entry-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('given the compiled script beside it, then starts that, with no loader', () => {
    writeFileSync(join(dir, 'worker.js'), '');
    expect(threadEntry(dir, 'worker')).toEqual({ script: join(dir, 'worker.js'), execArgv: [] });
  });

  it('given only the TypeScript source, then starts it under the project\'s TypeScript loader', () => {
    const { script, execArgv } = threadEntry(dir, 'worker');
    expect(script).toBe(join(dir, 'worker.ts'));
    expect(execArgv[0]).toBe('--require');
    expect(execArgv[1]?.endsWith(join('scripts', 'register-ts.js'))).toBe(true);
    expect(existsSync(execArgv[1]!)).toBe(true);
  });
});
