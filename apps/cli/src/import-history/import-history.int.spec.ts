import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, storedEvents, tempDataDir } from '../testing/cli-harness';
import { expectedRejections, historyCsv } from '../testing/history-fixture';
import { importedDealId } from './history-row';

const historyJsonl = [
  { dealRef: 'J-1', step: 'lead', occurredAt: '2024-11-04T10:00:00+01:00', title: 'Warehouse robots', organization: 'Tailspin', contact: { name: 'Kim', email: 'kim@tailspin.example' }, source: 'event', owner: 'cho', estimatedValue: { amount: 250000, currency: 'USD' } },
  { dealRef: 'J-1', step: 'qualification', occurredAt: '2024-11-10', budget: true, authority: true, need: true, timeline: true },
  { dealRef: 'J-1', step: 'proposal', occurredAt: '2024-11-20', amount: 240000, currency: 'USD', validUntil: '2024-12-31', winProbability: 70 },
  { dealRef: 'J-1', step: 'negotiation', occurredAt: '2024-12-01', counterAmount: { amount: 230000, currency: 'USD' }, objections: ['price', 'support hours'] },
  { dealRef: 'J-1', step: 'negotiation', occurredAt: '2024-12-05', discountPercent: 150 }, // line 5: discountPercent
  { dealRef: 'J-1', step: 'closing', occurredAt: '2024-11-30', outcome: 'won', finalAmount: 230000, reason: 'Signed' }, // line 6: before the previous event
  { dealRef: 'J-1', step: 'closing', occurredAt: '2024-12-10', outcome: 'won', finalAmount: 230000, reason: 'Signed' },
]
  .map((row) => JSON.stringify(row))
  .join('\n')
  .concat('\n{"dealRef": "J-2", "step": "lead",\n'); // line 8: not JSON

describe('import', () => {
  let data: ReturnType<typeof tempDataDir>;
  let env: Record<string, string>;

  beforeEach(() => {
    data = tempDataDir();
    env = { DATA_DIR: data.dir };
  });
  afterEach(() => data.remove());

  it('imports the good rows of a CSV file with their backdated times, and reports each bad row by line and reason', async () => {
    const file = join(data.dir, 'history.csv');
    writeFileSync(file, historyCsv);

    const run = await cli(['import', file, '--actor', 'migration.bot'], env);

    expect(run.code).toBe(1);
    const reported = run.stdout.split('\n').filter((line) => line.startsWith('line '));
    expect(reported).toHaveLength(expectedRejections.length);
    expectedRejections.forEach(([line, reason], index) => expect(reported[index]).toMatch(new RegExp(`^line ${line}\\b.*: ${reason}`)));
    expect(run.stdout).toContain('12 imported, 0 already imported, 7 rejected, of 19 rows');

    const events = await storedEvents(data.dir);
    expect(events).toHaveLength(12);
    const deal = (ref: string) => events.filter((event) => event.dealId === importedDealId(ref));
    expect(deal('A').map((event) => [event.event.type, event.metadata.occurredAt])).toEqual([
      ['LeadCaptured', '2025-01-06T09:00:00.000Z'],
      ['Qualified', '2025-01-10T09:00:00.000Z'],
      ['ProposalSent', '2025-01-20T09:00:00.000Z'],
      ['Closed', '2025-02-15T09:00:00.000Z'],
      ['FollowedUp', '2025-03-02T09:00:00.000Z'],
    ]);
    expect(deal('B').map((event) => event.event.type)).toEqual(['LeadCaptured', 'Qualified', 'Closed']);
    expect(deal('C')).toEqual([]);
    expect(deal('D')[1]?.event.data).toMatchObject({ notes: 'Met the board, twice.\nThey said "yes".' });
    expect(new Set(events.map((event) => event.metadata.actor))).toEqual(new Set(['migration.bot']));
    // One import run, one correlation id: an auditor finds the whole run at once.
    expect(new Set(events.map((event) => event.metadata.correlationId)).size).toBe(1);
  });

  it('appends nothing when the same file is imported again, and says every good row was already imported', async () => {
    const file = join(data.dir, 'history.csv');
    writeFileSync(file, historyCsv);
    await cli(['import', file], env);
    const before = await storedEvents(data.dir);

    const again = await cli(['import', file], env);

    expect(again.code).toBe(1);
    expect(again.stdout).toContain('0 imported, 12 already imported, 7 rejected, of 19 rows');
    expect(await storedEvents(data.dir)).toEqual(before);
  });

  it('recognises rows imported before under another --actor, instead of appending the last steps again', async () => {
    const file = join(data.dir, 'history.csv');
    writeFileSync(file, historyCsv);
    await cli(['import', file, '--actor', 'first.run'], env);
    const before = await storedEvents(data.dir);

    const again = await cli(['import', file, '--actor', 'second.run'], env);

    expect(again.stdout).toContain('0 imported, 12 already imported, 7 rejected, of 19 rows');
    expect(await storedEvents(data.dir)).toEqual(before);
  });

  it('imports JSON lines nested as the API bodies, with the same checks', async () => {
    const file = join(data.dir, 'history.jsonl');
    writeFileSync(file, historyJsonl);

    const run = await cli(['import', file], env);

    expect(run.code).toBe(1);
    const reported = run.stdout.split('\n').filter((line) => line.startsWith('line '));
    expect(reported).toEqual([
      expect.stringMatching(/^line 5 \(deal J-1, negotiation\): VALIDATION_FAILED discountPercent: /),
      expect.stringMatching(/^line 6 \(deal J-1, closing\): OCCURRED_BEFORE_PREVIOUS_EVENT /),
      expect.stringMatching(/^line 8: MALFORMED_ROW not valid JSON/),
    ]);
    expect(run.stdout).toContain('5 imported, 0 already imported, 3 rejected, of 8 rows');
    const events = await storedEvents(data.dir);
    expect(events.map((event) => event.event.type)).toEqual(['LeadCaptured', 'Qualified', 'ProposalSent', 'Negotiated', 'Closed']);
    expect(events[0]?.metadata).toMatchObject({ actor: 'import', occurredAt: '2024-11-04T09:00:00.000Z' });

    const again = await cli(['import', file], env);
    expect(again.stdout).toContain('0 imported, 5 already imported, 3 rejected, of 8 rows');
    expect(await storedEvents(data.dir)).toHaveLength(5);
  });

  it('recognises rows already imported from the other format: the key comes from the content', async () => {
    const examples = join(__dirname, '../../../../docs/examples');
    const first = await cli(['import', join(examples, 'deal-history.jsonl')], env);
    expect(first).toMatchObject({ code: 0, stdout: expect.stringContaining('10 imported, 0 already imported, 0 rejected') });

    const second = await cli(['import', join(examples, 'deal-history.csv')], env);

    expect(second).toMatchObject({ code: 0, stdout: expect.stringContaining('0 imported, 10 already imported, 0 rejected') });
    expect(await storedEvents(data.dir)).toHaveLength(10);
  });

  it('checks every row but writes nothing on a dry run', async () => {
    const file = join(data.dir, 'history.csv');
    writeFileSync(file, historyCsv);

    const run = await cli(['import', file, '--dry-run'], env);

    expect(run.code).toBe(1);
    // Stage rules need the store, so a dry run catches only the format and field errors.
    expect(run.stdout).toContain('dry run: 14 valid, 5 rejected, of 19 rows; nothing written');
    expect(await storedEvents(data.dir)).toEqual([]);
  });

  it('stops before any row when the CSV header lacks a required column', async () => {
    const file = join(data.dir, 'history.csv');
    writeFileSync(file, 'dealRef,step,title\r\nA,lead,x\r\n');

    const run = await cli(['import', file], env);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('missing occurredAt');
  });
});
