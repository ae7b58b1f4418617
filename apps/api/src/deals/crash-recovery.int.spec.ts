/**
 * The API as a real process, SIGKILLed while concurrent clients drive deals through their life, then
 * started again on the same data directory: every acknowledged command is stored, every command
 * retried with its Idempotency-Key is applied once (the first answer comes back for those already
 * stored), and the read models catch up to exactly what the deals say.
 */
import { randomUUID } from 'node:crypto';
import { startWorker, type WorkerProcess } from '../projections/testing/worker-process';
import { tempDataDir } from '../../../cli/src/testing/cli-harness';
import { actors, bodies, keys } from '../testing/test-app';

jest.setTimeout(180_000);

const clients = 16;
/** Acknowledged commands before the kill: enough that many are in flight when it lands. */
const acknowledgedBeforeKill = 300;

interface Sent {
  readonly dealId: string | undefined;
  readonly path: string;
  readonly body: string;
  readonly key: string;
  /** The first answer, when one came back before the kill. */
  answer?: { readonly status: number; readonly body: Answer };
}

interface Answer {
  readonly dealId: string;
  readonly version: number;
  readonly stage: string;
}

const env = (dataDir: string) => ({
  DATA_DIR: dataDir,
  SEED_DEMO: 'false',
  API_KEYS: `${keys.sales}=${actors.sales}:sales,${keys.admin}=${actors.admin}:admin`,
});

function urlOf(process: WorkerProcess): string {
  return /listening on (http:\/\/[^\s]+)/.exec(process.output())![1]!;
}

function post(url: string, command: Sent): Promise<Response> {
  return fetch(`${url}${command.path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.sales}`, 'content-type': 'application/json', 'idempotency-key': command.key },
    body: command.body,
  });
}

async function get(url: string, path: string): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${keys.admin}` } });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** One client's deal life, step by step: each step is the next command for its current deal. */
function nextCommand(step: number, dealId: string | undefined, client: number): Omit<Sent, 'key'> {
  const body = [
    () => bodies.lead({ owner: `owner-${client % 4}`, title: `Deal of client ${client}` }),
    () => bodies.qualification(),
    () => bodies.proposal(),
    () => bodies.negotiation(),
    () => (client % 3 === 0 ? bodies.lost() : bodies.won()),
    () => bodies.followUp(),
  ][step % 6]!();
  const route = ['', '/qualification', '/proposals', '/negotiations', '/closing', '/follow-ups'][step % 6]!;
  return { dealId: step % 6 === 0 ? undefined : dealId, path: step % 6 === 0 ? '/deals' : `/deals/${dealId}${route}`, body: JSON.stringify(body) };
}

describe('the API killed under load and started again', () => {
  let data: ReturnType<typeof tempDataDir>;
  let api: WorkerProcess | undefined;

  beforeEach(() => {
    data = tempDataDir();
  });
  afterEach(async () => {
    await api?.stop('SIGKILL');
    data.remove();
  });

  it('keeps every acknowledged command, applies every retried one once, and its read models catch up to the deals', async () => {
    const first = await startWorker('api', env(data.dir));
    api = first;
    const url = urlOf(first);
    const sent: Sent[][] = Array.from({ length: clients }, () => []);
    const refused: string[] = [];
    let acknowledged = 0;
    let killed = false;
    let kill: () => void = () => {};
    const killNow = new Promise<void>((resolve) => (kill = resolve));

    // Each client sends one command at a time, its next only after an answer: a careful client.
    const drive = async (client: number) => {
      let dealId: string | undefined;
      for (let step = 0; !killed; step++) {
        const command: Sent = { ...nextCommand(step, dealId, client), key: randomUUID() };
        sent[client]!.push(command);
        const response = await post(url, command).catch(() => undefined);
        const body = (await response?.json().catch(() => undefined)) as Answer | undefined;
        if (response === undefined || body === undefined) return;
        if (response.status !== 200 && response.status !== 201) {
          refused.push(`${command.path} → ${response.status} ${JSON.stringify(body)}`);
          return;
        }
        command.answer = { status: response.status, body };
        dealId = body.dealId;
        if (++acknowledged === acknowledgedBeforeKill) kill();
      }
    };
    const driving = Promise.all(sent.map((_, client) => drive(client))).finally(kill);
    await killNow;
    killed = true;
    expect(await first.stop('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
    await driving;
    expect(refused).toEqual([]);
    const all = sent.flat();
    expect(all.filter((command) => command.answer !== undefined).length).toBeGreaterThanOrEqual(acknowledgedBeforeKill);
    // Commands in flight at the kill: their outcome is unknown to their clients until they retry.
    expect(all.filter((command) => command.answer === undefined).length).toBeGreaterThan(0);

    api = await startWorker('api', env(data.dir));
    const again = urlOf(api);
    const historyOf = async (dealId: string): Promise<Array<{ version: number; type: string; commandId: string }>> => {
      const history = await get(again, `/deals/${dealId}/history`);
      expect(history.status).toBe(200);
      return history.body.entries;
    };

    // Every acknowledged command is in its deal's history, at the version it answered.
    for (const command of all) {
      if (command.answer === undefined) continue;
      const { dealId, version } = command.answer.body;
      expect((await historyOf(dealId)).map((entry) => entry.version)).toContain(version);
    }

    // Every command retried with its key and body: the first answer for those stored, applied now for the rest.
    const commandsPerDeal = new Map<string, number>();
    for (const commands of sent) {
      for (const command of commands) {
        const response = await post(again, command);
        const body = (await response.json()) as Answer;
        expect({ status: response.status, body }).toEqual({ status: command.path === '/deals' ? 201 : 200, body: command.answer?.body ?? expect.anything() });
        if (command.answer !== undefined) expect(response.headers.get('idempotent-replayed')).toBe('true');
        commandsPerDeal.set(body.dealId, (commandsPerDeal.get(body.dealId) ?? 0) + 1);
      }
    }

    // Nothing doubled: each deal holds one event per command sent for it, each command id once.
    for (const [dealId, commands] of commandsPerDeal) {
      const entries = await historyOf(dealId);
      expect(entries).toHaveLength(commands);
      expect(new Set(entries.map((entry) => entry.commandId)).size).toBe(commands);
    }

    // The pipeline, once caught up, counts each deal at the stage the deal itself reports.
    let pipeline = await get(again, '/pipeline');
    for (let tries = 0; pipeline.headers.get('x-projection-caught-up') !== 'true' && tries < 1_000; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      pipeline = await get(again, '/pipeline');
    }
    expect(pipeline.headers.get('x-projection-caught-up')).toBe('true');
    const stages: Record<string, number> = {};
    for (const dealId of commandsPerDeal.keys()) {
      const { stage } = (await get(again, `/deals/${dealId}`)).body;
      stages[stage] = (stages[stage] ?? 0) + 1;
    }
    const counted = Object.fromEntries(pipeline.body.stages.filter((stage: { count: number }) => stage.count > 0).map((stage: { stage: string; count: number }) => [stage.stage, stage.count]));
    expect(counted).toEqual(stages);
  });
});
