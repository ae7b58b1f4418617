import { type AuditEntry, canonicalJson } from '@deals/projections';

/**
 * The audit export formats. Both are written as text chunks of about `chunkChars`, so the HTTP
 * layer sends a few large writes rather than one per entry, and never more than a chunk at a time.
 */

export const exportFormats = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof exportFormats)[number];

export const exportMediaTypes: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8; header=present',
  jsonl: 'application/x-ndjson; charset=utf-8',
};

export const csvColumns = [
  'position',
  'dealId',
  'version',
  'eventId',
  'type',
  'schemaVersion',
  'actor',
  'occurredAt',
  'recordedAt',
  'commandId',
  'correlationId',
  'causationId',
  'data',
  'previousHash',
  'hash',
] as const satisfies ReadonlyArray<keyof AuditEntry>;

/**
 * One CSV field (RFC 4180): quoted when it holds a quote, comma or line break, quotes doubled.
 * A cell a spreadsheet would run as a formula (starting with = + - @, tab or carriage return) gets a
 * leading single quote; so does a cell that already starts with one, so the rule can be undone:
 * drop one leading quote wherever a cell starts with it.
 */
export function csvField(value: string): string {
  const inert = /^[=+\-@\t\r']/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(inert) ? `"${inert.replace(/"/g, '""')}"` : inert;
}

export function csvRow(values: readonly string[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/** The payload as canonical JSON: the exact text the entry's hash covers for `data`. */
export function csvEntryRow(entry: AuditEntry): string {
  return csvRow(csvColumns.map((column) => (column === 'data' ? canonicalJson(entry.data) : String(entry[column]))));
}

export function jsonLine(entry: AuditEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

export async function* exportChunks(
  entries: AsyncIterable<AuditEntry>,
  format: ExportFormat,
  chunkChars = 64 * 1024,
): AsyncGenerator<string, void, undefined> {
  let chunk = format === 'csv' ? csvRow(csvColumns) : '';
  const line = format === 'csv' ? csvEntryRow : jsonLine;
  for await (const entry of entries) {
    chunk += line(entry);
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}
