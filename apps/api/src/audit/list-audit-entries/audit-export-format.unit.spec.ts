import { createHash } from 'node:crypto';
import type { AuditEntry } from '@deals/projections';
import { csvToEntries, parseCsv } from '../testing/parse-csv';
import { csvColumns, csvEntryRow, csvField, exportChunks } from './audit-export-format';

const entry = (overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  position: '12/12',
  dealId: '11111111-1111-4111-8111-111111111111',
  version: 3,
  eventId: '22222222-2222-4222-8222-222222222222',
  type: 'Negotiated',
  schemaVersion: 1,
  actor: 'sam.sales',
  occurredAt: '2026-03-01T10:00:00.000Z',
  recordedAt: '2026-03-01T10:00:01.000Z',
  commandId: 'c-1',
  correlationId: 'corr-1',
  causationId: 'c-1',
  data: { round: 1, objections: ['price, "too high"', '=HYPERLINK("http://evil")'], notes: 'line one\r\nline two' },
  previousHash: '0'.repeat(64),
  hash: createHash('sha256').update('x').digest('hex'),
  ...overrides,
});

async function collect(chunks: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

async function* entries(list: readonly AuditEntry[]): AsyncGenerator<AuditEntry> {
  yield* list;
}

describe('csvField', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\r\nlines', '"two\r\nlines"'],
    ['lf\nonly', '"lf\nonly"'],
    ['', ''],
  ])('writes %j as %j (RFC 4180)', (value, written) => {
    expect(csvField(value)).toBe(written);
  });

  it.each(['=1+2', '+1', '-1', '@SUM(A1)', '\tcmd', '\rcmd', "'quoted"])('prefixes %j with a single quote, so no spreadsheet runs it', (value) => {
    expect(csvField(value).replace(/^"/, '')).toMatch(/^'/);
  });

  it('quotes a guarded cell that also needs quoting, guard inside the quotes', () => {
    expect(csvField('=A1,"x"')).toBe(`"'=A1,""x"""`);
  });
});

describe('exportChunks', () => {
  it('writes a CSV header and one CRLF record per entry that parse back to the same entries', async () => {
    const list = [entry(), entry({ actor: '@eve', position: '13/13', version: 4, causationId: '-1' }), entry({ actor: "'quote" })];
    const text = (await collect(exportChunks(entries(list), 'csv'))).join('');
    expect(parseCsv(text)[0]).toEqual([...csvColumns]);
    expect(csvToEntries(text)).toEqual(list);
  });

  it('never starts a CSV cell with a formula character', async () => {
    const text = (await collect(exportChunks(entries([entry({ actor: '@eve', commandId: '=cmd', correlationId: '+x' })]), 'csv'))).join('');
    for (const cell of parseCsv(text)[1]!) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('writes the payload as canonical JSON, the text the hash covers', () => {
    const row = parseCsv(csvEntryRow(entry({ data: { b: 1, a: 2 } })))[0]!;
    expect(row[csvColumns.indexOf('data')]).toBe('{"a":2,"b":1}');
  });

  it('writes JSON lines that parse back to the same entries', async () => {
    const list = [entry(), entry({ position: '13/13' })];
    const text = (await collect(exportChunks(entries(list), 'jsonl'))).join('');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual(list);
  });

  it('groups entries into chunks of about the given size instead of one write per entry', async () => {
    const list = Array.from({ length: 100 }, (_, index) => entry({ position: `${index}/${index}` }));
    const chunks = await collect(exportChunks(entries(list), 'jsonl', 4096));
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks.length).toBeLessThan(50);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeLessThan(4096 + 2000);
  });

  it('writes only the header for an empty CSV export and nothing for empty JSON lines', async () => {
    expect(await collect(exportChunks(entries([]), 'csv'))).toEqual([`${csvColumns.join(',')}\r\n`]);
    expect(await collect(exportChunks(entries([]), 'jsonl'))).toEqual([]);
  });
});
