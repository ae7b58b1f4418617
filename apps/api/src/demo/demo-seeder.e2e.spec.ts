import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp } from '../testing/test-app';

describe('demo deals on an empty store', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'deals-demo-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  async function pipeline(): Promise<{ counts: Record<string, number>; events: number }> {
    const api = await startTestApp({ seedDemo: true }, { dataDir });
    try {
      await api.waitForProjections();
      const answer = await api.request('GET', '/pipeline', { as: 'analyst' });
      expect(answer.status).toBe(200);
      const counts = Object.fromEntries(answer.body.stages.map((stage: { stage: string; count: number }) => [stage.stage, stage.count]));
      const audit = await api.request('GET', '/audit?limit=500', { as: 'auditor' });
      return { counts, events: audit.body.entries.length };
    } finally {
      await api.close();
    }
  }

  it('seeds deals at every stage through the command path, once: a restart seeds nothing more', async () => {
    const first = await pipeline();
    expect(first.counts).toEqual({ lead: 1, qualified: 1, proposal: 1, negotiation: 1, won: 1, lost: 2 });
    const second = await pipeline();
    expect(second).toEqual(first);
  });
});
