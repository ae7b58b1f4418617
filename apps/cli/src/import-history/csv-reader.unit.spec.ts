import { type CsvRecord, maxRecordChars, readCsvRecords } from './csv-reader';

async function read(text: string): Promise<CsvRecord[]> {
  // As readline hands lines over: split on CRLF or LF, no trailing empty line for a final break.
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  async function* source(): AsyncGenerator<string> {
    yield* lines;
  }
  const records: CsvRecord[] = [];
  for await (const record of readCsvRecords(source())) records.push(record);
  return records;
}

describe('readCsvRecords', () => {
  it('splits plain fields on commas, keeping empty fields', async () => {
    expect(await read('a,b,,d\r\n1,2,3,\r\n')).toEqual([
      { line: 1, fields: ['a', 'b', '', 'd'] },
      { line: 2, fields: ['1', '2', '3', ''] },
    ]);
  });

  it('reads quoted fields with commas, doubled quotes and an empty quoted field', async () => {
    expect(await read('"a,b","say ""hi""","",x\n')).toEqual([{ line: 1, fields: ['a,b', 'say "hi"', '', 'x'] }]);
  });

  it('reads a line break inside quotes as part of the field, and numbers the record by its first line', async () => {
    expect(await read('h1,h2\r\n"first\r\nsecond\r\n",x\r\nnext,row\r\n')).toEqual([
      { line: 1, fields: ['h1', 'h2'] },
      { line: 2, fields: ['first\nsecond\n', 'x'] },
      { line: 5, fields: ['next', 'row'] },
    ]);
  });

  it('skips blank lines between records but counts them', async () => {
    expect(await read('a\n\nb\n')).toEqual([
      { line: 1, fields: ['a'] },
      { line: 3, fields: ['b'] },
    ]);
  });

  it('drops a UTF-8 byte-order mark before the header', async () => {
    expect(await read('\uFEFFdealRef,step\n')).toEqual([{ line: 1, fields: ['dealRef', 'step'] }]);
  });

  it('reports a quote inside an unquoted field and goes on with the next line', async () => {
    expect(await read('ok,1\nbad"field,2\nok,3\n')).toEqual([
      { line: 1, fields: ['ok', '1'] },
      { line: 2, error: expect.stringContaining('quote inside an unquoted field') },
      { line: 3, fields: ['ok', '3'] },
    ]);
  });

  it('reports text after a closing quote', async () => {
    expect(await read('"a"b,c\n')).toEqual([{ line: 1, error: expect.stringContaining('after a closing quote') }]);
  });

  it('reports a quoted field left open at the end of the file, at the line it began', async () => {
    expect(await read('a,b\n"never closed,\nmore\n')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, error: expect.stringContaining('not closed') },
    ]);
  });

  it('refuses a record longer than the limit instead of buffering the rest of the file', async () => {
    const long = 'x'.repeat(maxRecordChars);
    const records = await read(`"${long}\n${long}\nok\n`);
    expect(records[0]).toEqual({ line: 1, error: expect.stringContaining('longer than') });
    expect(records.length).toBeLessThanOrEqual(3);
  });
});
