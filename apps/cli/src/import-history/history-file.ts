import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { shapeProblem } from '../../../api/src/http/json-body';
import { readCsvRecords } from './csv-reader';

/**
 * Reads an import file as a stream of raw rows: one object per step of a deal's history, with the
 * line it starts on. CSV cells are typed and un-flattened here; what the fields mean is checked
 * later, by the API's own request classes.
 */

export const historyFormats = ['csv', 'jsonl'] as const;
export type HistoryFormat = (typeof historyFormats)[number];

export type RawRow =
  | { readonly line: number; readonly record: Readonly<Record<string, unknown>> }
  | { readonly line: number; readonly error: RowError };

export interface RowError {
  /** MALFORMED_ROW, VALIDATION_FAILED, or the code of the API error or domain refusal. */
  readonly code: string;
  readonly message: string;
  readonly details?: ReadonlyArray<{ readonly field: string; readonly problems: readonly string[] }>;
}

/** A problem with the file as a whole (no header, a duplicate column): nothing can be imported. */
export class HistoryFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HistoryFileError';
  }
}

export function formatOf(path: string): HistoryFormat | undefined {
  if (/\.csv$/i.test(path)) return 'csv';
  if (/\.(jsonl|ndjson)$/i.test(path)) return 'jsonl';
  return undefined;
}

export function readHistoryFile(path: string, format: HistoryFormat): AsyncGenerator<RawRow, void, undefined> {
  // readline streams the file: one line (one record) in memory at a time, whatever the file's size.
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  return format === 'csv' ? csvRows(lines) : jsonLinesRows(lines);
}

// ---------------------------------------------------------------------------------------------
// JSON lines: one object per line, the body fields nested as in the API.

export async function* jsonLinesRows(lines: AsyncIterable<string>): AsyncGenerator<RawRow, void, undefined> {
  let line = 0;
  for await (const text of lines) {
    line++;
    const trimmed = line === 1 ? text.replace(/^\uFEFF/, '').trim() : text.trim();
    if (trimmed === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      yield { line, error: { code: 'MALFORMED_ROW', message: `not valid JSON: ${(error as Error).message}` } };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      yield { line, error: { code: 'MALFORMED_ROW', message: 'a line must hold one JSON object' } };
      continue;
    }
    const problem = shapeProblem(value);
    if (problem) {
      yield { line, error: { code: 'VALIDATION_FAILED', message: `Invalid row: ${problem.field}`, details: [problem] } };
      continue;
    }
    yield { line, record: value as Record<string, unknown> };
  }
}


// ---------------------------------------------------------------------------------------------
// CSV: a header row, then one row per step; nested fields flattened as `contact.name`.

/** Columns whose cells are read as booleans (true / false). */
const booleanColumns = new Set(['budget', 'authority', 'need', 'timeline']);
/** Columns whose cells are read as numbers. */
const numberColumns = new Set([
  'estimatedValue.amount',
  'amount',
  'winProbability',
  'counterAmount',
  'counterAmount.amount',
  'discountPercent',
  'finalAmount',
  'finalAmount.amount',
]);
/** Columns holding a list, items separated by `|`. */
const listColumns = new Set(['objections']);

const numberText = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A cell as the JSON value the API would receive. A cell that does not read as its column's type
 * is passed on as text, so the request class refuses it with the field's name and rule, exactly
 * as the API would refuse `"amount": "abc"`.
 */
export function cellValue(column: string, cell: string): unknown {
  if (booleanColumns.has(column)) {
    const lower = cell.toLowerCase();
    return lower === 'true' ? true : lower === 'false' ? false : cell;
  }
  if (numberColumns.has(column)) return numberText.test(cell.trim()) ? Number(cell.trim()) : cell;
  if (listColumns.has(column)) return cell.split('|').map((item) => item.trim());
  return cell;
}

export const requiredColumns = ['dealRef', 'step', 'occurredAt'] as const;

export async function* csvRows(lines: AsyncIterable<string>): AsyncGenerator<RawRow, void, undefined> {
  let header: readonly string[] | undefined;
  for await (const record of readCsvRecords(lines)) {
    if (header === undefined) {
      if ('error' in record) throw new HistoryFileError(`line ${record.line}: the header row does not parse: ${record.error}`);
      header = checkHeader(record.fields);
      continue;
    }
    if ('error' in record) {
      yield { line: record.line, error: { code: 'MALFORMED_ROW', message: record.error } };
      continue;
    }
    if (record.fields.length !== header.length) {
      yield {
        line: record.line,
        error: { code: 'MALFORMED_ROW', message: `has ${record.fields.length} fields; the header has ${header.length}` },
      };
      continue;
    }
    yield unflatten(record.line, header, record.fields);
  }
  if (header === undefined) throw new HistoryFileError('the file is empty: expected a header row naming dealRef, step and occurredAt');
}

function checkHeader(fields: readonly string[]): readonly string[] {
  const columns = fields.map((field) => field.trim());
  const seen = new Set<string>();
  for (const column of columns) {
    if (column === '') throw new HistoryFileError('line 1: the header has an empty column name');
    if (seen.has(column)) throw new HistoryFileError(`line 1: the header names column ${column} twice`);
    if (column.split('.').some((part) => part === '' || part in Object.prototype)) {
      throw new HistoryFileError(`line 1: ${JSON.stringify(column)} is not a usable column name`);
    }
    seen.add(column);
  }
  const missing = requiredColumns.filter((column) => !seen.has(column));
  if (missing.length > 0) throw new HistoryFileError(`line 1: the header must name ${requiredColumns.join(', ')}; missing ${missing.join(', ')}`);
  return columns;
}

/** Non-empty cells only (empty means absent), dotted column names nested: `contact.name` → { contact: { name } }. */
function unflatten(line: number, header: readonly string[], cells: readonly string[]): RawRow {
  const record: Record<string, unknown> = {};
  for (let index = 0; index < header.length; index++) {
    const column = header[index]!;
    const cell = cells[index]!;
    if (cell === '') continue;
    const path = column.split('.');
    let target = record;
    for (const part of path.slice(0, -1)) {
      const existing = target[part];
      if (existing === undefined) target = target[part] = {};
      else if (typeof existing === 'object' && existing !== null && !Array.isArray(existing)) target = existing as Record<string, unknown>;
      else return { line, error: conflict(column, path[0]!) };
    }
    const leaf = path.at(-1)!;
    if (leaf in target) return { line, error: conflict(column, leaf) };
    target[leaf] = cellValue(column, cell);
  }
  return { line, record };
}

function conflict(column: string, other: string): RowError {
  return {
    code: 'VALIDATION_FAILED',
    message: `Invalid row: ${other}`,
    details: [{ field: other, problems: [`${other} is given both as a value and through ${column}`] }],
  };
}
