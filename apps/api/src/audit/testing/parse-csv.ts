/** A strict RFC 4180 reader for tests: CRLF records, quoted fields with doubled quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let index = 0;
  let quoted = false;
  while (index < text.length) {
    const char = text[index]!;
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        field += '"';
        index += 2;
      } else if (char === '"') {
        quoted = false;
        index += 1;
      } else {
        field += char;
        index += 1;
      }
    } else if (char === '"' && field === '') {
      quoted = true;
      index += 1;
    } else if (char === ',') {
      row.push(field);
      field = '';
      index += 1;
    } else if (char === '\r' && text[index + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      index += 2;
    } else if (char === '"' || char === '\r' || char === '\n') {
      throw new Error(`Bare ${JSON.stringify(char)} outside quotes at ${index}`);
    } else {
      field += char;
      index += 1;
    }
  }
  if (quoted) throw new Error('Unterminated quoted field');
  if (field !== '' || row.length > 0) throw new Error('The last record does not end with CRLF');
  return rows;
}

/** Undoes the formula guard: one leading single quote is dropped. */
export function unguard(cell: string): string {
  return cell.startsWith("'") ? cell.slice(1) : cell;
}

/** CSV rows back to audit entries, typed as the JSON answer types them. */
export function csvToEntries(text: string): Array<Record<string, unknown>> {
  const [header, ...rows] = parseCsv(text);
  if (!header) throw new Error('No header row');
  return rows.map((row) =>
    Object.fromEntries(
      header.map((column, index) => {
        const value = unguard(row[index] ?? '');
        if (column === 'version' || column === 'schemaVersion') return [column, Number(value)];
        if (column === 'data') return [column, JSON.parse(value) as unknown];
        return [column, value];
      }),
    ),
  );
}
