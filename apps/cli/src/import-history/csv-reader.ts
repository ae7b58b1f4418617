/**
 * A small streaming RFC 4180 reader. It is fed the file line by line (readline), so a file of any
 * size is read with one record in memory, and each record keeps the number of the line it starts
 * on, for error reports.
 *
 * Written here rather than taken from a package: the grammar is small (quoted fields, doubled
 * quotes, commas and line breaks inside quotes), we need line numbers and per-record errors that
 * do not stop the file, and the well-known parsers either pull in more than we use or report
 * positions differently.
 *
 * Accepted beyond the strict grammar, as spreadsheets write it: LF as well as CRLF line ends, a
 * UTF-8 byte-order mark before the header, and blank lines (skipped). A line break inside a quoted
 * field is read as "\n" whatever the file used.
 */

export type CsvRecord =
  | { readonly line: number; readonly fields: readonly string[] }
  | { readonly line: number; readonly error: string };

/** A record longer than this is refused rather than buffered: an unclosed quote must not swallow the file. */
export const maxRecordChars = 1024 * 1024;

export async function* readCsvRecords(lines: AsyncIterable<string>): AsyncGenerator<CsvRecord, void, undefined> {
  let lineNumber = 0;
  // A record whose quoted field continues on the next line.
  let open: { line: number; fields: string[]; field: string; chars: number } | undefined;
  for await (const rawLine of lines) {
    lineNumber++;
    const text = lineNumber === 1 ? rawLine.replace(/^\uFEFF/, '') : rawLine;
    if (open === undefined && text === '') continue;
    const start = open ?? { line: lineNumber, fields: [], field: '', chars: 0 };
    if (open) start.field += '\n';
    start.chars += text.length + 1;
    if (start.chars > maxRecordChars) {
      yield { line: start.line, error: `record is longer than ${maxRecordChars} characters (an unclosed quote?)` };
      open = undefined;
      continue;
    }
    const result = parseLine(text, start.fields, start.field, open !== undefined);
    if (result.kind === 'error') {
      yield { line: start.line, error: result.error };
      open = undefined;
    } else if (result.kind === 'open') {
      open = { line: start.line, fields: result.fields, field: result.field, chars: start.chars };
    } else {
      yield { line: start.line, fields: result.fields };
      open = undefined;
    }
  }
  if (open) yield { line: open.line, error: 'a quoted field is not closed before the end of the file' };
}

type LineResult =
  | { readonly kind: 'done'; readonly fields: string[] }
  | { readonly kind: 'open'; readonly fields: string[]; readonly field: string }
  | { readonly kind: 'error'; readonly error: string };

/**
 * Parses one physical line into fields. `inQuotes` resumes a quoted field begun on an earlier line,
 * whose text so far is `field`.
 */
function parseLine(line: string, fieldsSoFar: readonly string[], fieldSoFar: string, inQuotes: boolean): LineResult {
  const fields = [...fieldsSoFar];
  let field = fieldSoFar;
  let quoted = inQuotes;
  // Whether the current field was quoted and its closing quote has been seen.
  let closed = false;
  let index = 0;
  while (index < line.length) {
    const char = line[index]!;
    if (quoted) {
      if (char === '"') {
        if (line[index + 1] === '"') {
          field += '"';
          index += 2;
          continue;
        }
        quoted = false;
        closed = true;
      } else {
        field += char;
      }
      index++;
      continue;
    }
    if (char === ',') {
      fields.push(field);
      field = '';
      closed = false;
    } else if (closed) {
      return { kind: 'error', error: `unexpected ${JSON.stringify(char)} after a closing quote (column ${index + 1})` };
    } else if (char === '"') {
      if (field !== '') return { kind: 'error', error: `a quote inside an unquoted field (column ${index + 1}); quote the whole field and double the quote` };
      quoted = true;
    } else {
      field += char;
    }
    index++;
  }
  if (quoted) return { kind: 'open', fields, field };
  fields.push(field);
  return { kind: 'done', fields };
}
