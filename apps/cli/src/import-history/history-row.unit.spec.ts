import { join } from 'node:path';
import { createValidationPipe } from '../../../api/src/http/validation';
import { csvRows, jsonLinesRows, type RawRow, readHistoryFile } from './history-file';
import { type CheckedRow, checkRow, importedDealId } from './history-row';

const examples = join(__dirname, '../../../../docs/examples');
const pipe = createValidationPipe();

async function collect(rows: AsyncIterable<RawRow>): Promise<RawRow[]> {
  const result: RawRow[] = [];
  for await (const row of rows) result.push(row);
  return result;
}

async function* linesOf(text: string): AsyncGenerator<string> {
  yield* text.split('\n');
}

async function checked(record: Record<string, unknown>): Promise<CheckedRow> {
  return checkRow(record, pipe);
}

function fieldsOf(result: CheckedRow): string[] {
  if (result.ok) throw new Error('expected a rejection');
  return (result.error.details ?? []).map((detail) => detail.field);
}

const lead = {
  dealRef: 'CRM-1',
  step: 'lead',
  occurredAt: '2025-01-06T09:00:00Z',
  title: 'Fleet telemetry',
  organization: 'Northwind',
  contact: { name: 'Ada', email: 'ada@northwind.example' },
  source: 'referral',
  owner: 'ben',
  estimatedValue: { amount: 85000, currency: 'EUR' },
};

describe('the documented example files', () => {
  it('hold the same history in CSV and JSON lines, every row valid, with the same idempotency keys', async () => {
    const csv = await collect(readHistoryFile(join(examples, 'deal-history.csv'), 'csv'));
    const jsonl = await collect(readHistoryFile(join(examples, 'deal-history.jsonl'), 'jsonl'));
    const commands = async (rows: RawRow[]) =>
      Promise.all(
        rows.map(async (row) => {
          if ('error' in row) throw new Error(`line ${row.line}: ${row.error.message}`);
          const result = await checked({ ...row.record });
          if (!result.ok) throw new Error(`line ${row.line}: ${JSON.stringify(result.error)}`);
          return result.command;
        }),
      );
    const fromCsv = await commands(csv);
    const fromJsonl = await commands(jsonl);
    expect(fromCsv).toHaveLength(10);
    expect(fromCsv.map((command) => command.idempotencyKey)).toEqual(fromJsonl.map((command) => command.idempotencyKey));
    expect(fromCsv.map((command) => command.input)).toEqual(fromJsonl.map((command) => command.input));
    // The negotiation's quoted notes span two lines in the CSV: the next record starts two lines later.
    expect(csv.map((row) => row.line)).toEqual([2, 3, 4, 5, 7, 8, 9, 10, 11, 12]);
  });
});

describe('CSV cells', () => {
  it('become numbers, booleans and lists by column, nested by dotted names; empty cells are absent', async () => {
    const text = [
      'dealRef,step,occurredAt,contact.name,contact.email,estimatedValue.amount,budget,objections,notes',
      'D-1,negotiation,2025-01-01,Ada,ada@x.example,1200.5,TRUE,price | timing,',
    ].join('\n');
    const [row] = await collect(csvRows(linesOf(text)));
    expect(row).toEqual({
      line: 2,
      record: {
        dealRef: 'D-1',
        step: 'negotiation',
        occurredAt: '2025-01-01',
        contact: { name: 'Ada', email: 'ada@x.example' },
        estimatedValue: { amount: 1200.5 },
        budget: true,
        objections: ['price', 'timing'],
      },
    });
  });

  it('passes a cell that is not of its column type on as text, so validation names the field', async () => {
    const [row] = await collect(csvRows(linesOf('dealRef,step,occurredAt,amount,currency,validUntil\nD-1,proposal,2025-01-01,12k,EUR,2025-02-01\n')));
    if (!row || 'error' in row) throw new Error('expected a record');
    expect(row.record['amount']).toBe('12k');
    expect(fieldsOf(await checked({ ...row.record }))).toEqual(['amount']);
  });

  it('refuses a row with more or fewer fields than the header', async () => {
    const rows = await collect(csvRows(linesOf('dealRef,step,occurredAt\nD-1,lead\n')));
    expect(rows).toEqual([{ line: 2, error: { code: 'MALFORMED_ROW', message: 'has 2 fields; the header has 3' } }]);
  });

  it('refuses a file whose header lacks a required column, before any row', async () => {
    await expect(collect(csvRows(linesOf('dealRef,step\nD-1,lead\n')))).rejects.toThrow('missing occurredAt');
  });

  it('refuses a value given both as a column and through a nested column', async () => {
    const [row] = await collect(csvRows(linesOf('dealRef,step,occurredAt,contact,contact.name\nD-1,lead,2025-01-01,x,Ada\n')));
    expect(row).toMatchObject({ line: 2, error: { code: 'VALIDATION_FAILED', details: [{ field: 'contact' }] } });
  });
});

describe('JSON lines', () => {
  it('skips blank lines, numbers lines from 1 and reports a line that does not parse', async () => {
    const rows = await collect(jsonLinesRows(linesOf('{"dealRef":"a"}\n\n{oops\n[1]\n')));
    expect(rows).toEqual([
      { line: 1, record: { dealRef: 'a' } },
      { line: 3, error: { code: 'MALFORMED_ROW', message: expect.stringContaining('not valid JSON') } },
      { line: 4, error: { code: 'MALFORMED_ROW', message: 'a line must hold one JSON object' } },
    ]);
  });

  it('refuses prototype keys as the API does', async () => {
    const rows = await collect(jsonLinesRows(linesOf('{"dealRef":"a","contact":{"constructor":1}}\n{"__proto__":{"x":1}}\n')));
    expect(rows).toMatchObject([
      { line: 1, error: { code: 'VALIDATION_FAILED', details: [{ field: 'contact.constructor' }] } },
      { line: 2, error: { code: 'VALIDATION_FAILED', details: [{ field: '__proto__' }] } },
    ]);
  });
});

describe('checkRow', () => {
  it('maps a valid lead to a capture command with a deal id derived from the other CRM id', async () => {
    const result = await checked(lead);
    expect(result).toMatchObject({
      ok: true,
      command: {
        dealRef: 'CRM-1',
        dealId: importedDealId('CRM-1'),
        step: 'lead',
        input: { type: 'CaptureLead', occurredAt: '2025-01-06T09:00:00Z', data: { title: 'Fleet telemetry', contact: { name: 'Ada' } } },
      },
    });
    expect(importedDealId('CRM-1')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('validates with the API rules: fields named, unknown fields refused', async () => {
    expect(fieldsOf(await checked({ ...lead, contact: { name: 'Ada', email: 'not-an-email' } }))).toEqual(['contact.email']);
    expect(fieldsOf(await checked({ ...lead, actor: 'mallory' }))).toEqual(['actor']);
    expect(fieldsOf(await checked({ ...lead, step: 'closing' }))).toEqual(expect.arrayContaining(['outcome', 'reason']));
  });

  it('requires dealRef, a known step and occurredAt, and names each one missing', async () => {
    expect(fieldsOf(await checked({ title: 'x' }))).toEqual(['dealRef', 'step', 'occurredAt']);
    expect(fieldsOf(await checked({ ...lead, step: 'meeting' }))).toEqual(['step']);
    expect(fieldsOf(await checked({ ...lead, occurredAt: '2025-02-30' }))).toEqual(['occurredAt']);
  });

  it('derives the idempotency key from the content, not from how the row was written', async () => {
    const a = await checked(lead);
    const reordered = await checked(Object.fromEntries(Object.entries(lead).reverse()));
    const changed = await checked({ ...lead, occurredAt: '2025-01-06T09:00:01Z' });
    if (!a.ok || !reordered.ok || !changed.ok) throw new Error('expected valid rows');
    expect(reordered.command.idempotencyKey).toBe(a.command.idempotencyKey);
    expect(changed.command.idempotencyKey).not.toBe(a.command.idempotencyKey);
  });

  it('reads a whole-number dealRef as its text, so CSV and JSON lines name the same deal', async () => {
    const result = await checked({ ...lead, dealRef: 42 });
    expect(result).toMatchObject({ ok: true, command: { dealRef: '42', dealId: importedDealId('42') } });
  });
});
