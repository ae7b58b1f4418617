import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cli, storedEvents, tempDataDir } from './testing/cli-harness';

const root = join(__dirname, '../../..');
const examples = join(root, 'docs/examples');

interface ProcessRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The real entry point in a child process, as `npm run cli -- …` runs it (from the sources, compiled in memory). */
function runMain(args: readonly string[], env: Record<string, string>): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', join(root, 'scripts/register-ts.js'), join(__dirname, 'main.ts'), ...args], {
      cwd: root,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(watchdog);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the CLI process', () => {
  let data: ReturnType<typeof tempDataDir>;
  beforeEach(() => (data = tempDataDir()));
  afterEach(() => data.remove());

  it('prints its usage on help and exits 0, and exits by itself once the work is done', async () => {
    const run = await runMain(['help'], { DATA_DIR: data.dir });
    expect(run.code).toBe(0);
    for (const command of ['rebuild', 'replay --until', 'export-analytics', 'import <file.csv|file.jsonl>']) expect(run.stdout).toContain(command);
  }, 30_000);

  it('imports a file end to end and exits 0, then 1 with the setting named when the configuration is wrong', async () => {
    const ok = await runMain(['import', join(examples, 'deal-history.csv'), '--actor', 'crm.migration'], { DATA_DIR: data.dir });
    expect(ok).toMatchObject({ code: 0, stdout: expect.stringContaining('10 imported, 0 already imported, 0 rejected') });
    expect((await storedEvents(data.dir))[0]?.metadata.actor).toBe('crm.migration');

    const wrong = await runMain(['import', join(examples, 'deal-history.csv')], { DATA_DIR: data.dir, READ_MODEL_STORE: 'memcached' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('READ_MODEL_STORE');
  }, 60_000);
});

describe('command lines', () => {
  let data: ReturnType<typeof tempDataDir>;
  let env: Record<string, string>;
  beforeEach(() => {
    data = tempDataDir();
    env = { DATA_DIR: data.dir };
  });
  afterEach(() => data.remove());

  it.each([
    [[], 'Usage:'],
    [['frobnicate'], 'Unknown command "frobnicate"'],
    [['import'], 'import needs the file to import'],
    [['import', 'a.csv', 'b.csv'], 'Unexpected argument "b.csv"'],
    [['import', 'history.txt'], 'pass --format csv or --format jsonl'],
    [['import', 'a.csv', '--actor', 'two words'], '--actor must be'],
    [['import', 'a.csv', '--dry-run=yes'], "--dry-run' does not take an argument"],
    [['rebuild', '--projection', 'nope'], '--projection must be one of'],
    [['rebuild', '--force'], "Unknown option '--force'"],
    [['replay'], 'replay needs --until'],
    [['replay', '--until', '31/03/2025'], '--until must be an ISO 8601 date'],
    [['replay', '--until', '2025-03-31', '--into', '../escape'], '--into must be'],
    [['export-analytics', '--basis', 'weekly'], '--basis must be one of cohort, period'],
    [['export-analytics', '--groupBy', 'team'], '--groupBy must be one of owner, source, month'],
    [['export-analytics', '--from', '2025-04-01', '--to', '2025-01-01'], '--to must be later than --from'],
    [['export-analytics', '--asOf', '2999-01-01'], '--asOf lies in the future'],
  ])('refuses %j as a usage error (exit 2), saying why', async (argv, message) => {
    const run = await cli(argv, env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('fails with exit 1, naming the setting, on a wrong configuration', async () => {
    const run = await cli(['rebuild'], { ...env, ROTTING_DAYS: 'lead=0' });
    expect(run).toMatchObject({ code: 1, stderr: expect.stringContaining('ROTTING_DAYS') });
  });

  it('fails with exit 1 on a file that does not exist', async () => {
    const run = await cli(['import', join(data.dir, 'missing.csv')], env);
    expect(run).toMatchObject({ code: 1, stderr: expect.stringContaining('No such file') });
  });

  it('answers help for a command too', async () => {
    const run = await cli(['import', '--help'], env);
    expect(run).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage:') });
  });
});

describe('roles, once API keys are configured', () => {
  const apiKeys = 'admin-key-000000000001=ops.admin:admin,analyst-key-00000000001=ana.lyst:analyst,sales-key-0000000000001=sam.sales:sales';
  const file = join(examples, 'deal-history.csv');
  let data: ReturnType<typeof tempDataDir>;
  beforeEach(() => (data = tempDataDir()));
  afterEach(() => data.remove());

  it.each([
    ['import', [file]],
    ['rebuild', []],
    ['replay', ['--until', '2025-01-01']],
  ])('refuses %s without a key, and with a key that is not admin', async (command, args) => {
    const env = { DATA_DIR: data.dir, API_KEYS: apiKeys };
    const missing = await cli([command, ...args], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('DEALS_API_KEY');
    const analyst = await cli([command, ...args], { ...env, DEALS_API_KEY: 'analyst-key-00000000001' });
    expect(analyst.code).toBe(1);
    expect(analyst.stderr).toContain('needs the role admin');
    const unknown = await cli([command, ...args], { ...env, DEALS_API_KEY: 'not-a-configured-key-000' });
    expect(unknown.stderr).toContain('not one of the keys');
    expect(await storedEvents(data.dir)).toEqual([]);
  });

  it("imports as the admin key's actor, and refuses an --actor that differs from it", async () => {
    const env = { DATA_DIR: data.dir, API_KEYS: apiKeys, DEALS_API_KEY: 'admin-key-000000000001' };
    const other = await cli(['import', file, '--actor', 'someone.else'], env);
    expect(other.code).toBe(2);
    const run = await cli(['import', file], env);
    expect(run.code).toBe(0);
    expect(new Set((await storedEvents(data.dir)).map((event) => event.metadata.actor))).toEqual(new Set(['ops.admin']));
  });

  it('lets analyst, sales and admin keys export analytics', async () => {
    const env = { DATA_DIR: data.dir, API_KEYS: apiKeys };
    const admin = { ...env, DEALS_API_KEY: 'admin-key-000000000001' };
    expect((await cli(['import', file], admin)).code).toBe(0);
    expect((await cli(['rebuild', '--projection', 'analytics'], admin)).code).toBe(0);
    for (const key of ['analyst-key-00000000001', 'sales-key-0000000000001', 'admin-key-000000000001']) {
      const run = await cli(['export-analytics'], { ...env, DEALS_API_KEY: key });
      expect({ key, code: run.code }).toEqual({ key, code: 0 });
    }
  });
});
