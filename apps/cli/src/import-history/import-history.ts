import { randomUUID } from 'node:crypto';
import { DealRefused } from '@deals/domain';
import type { ValidationPipe } from '@nestjs/common';
import type { CommandBus } from '@nestjs/cqrs';
import { ExecuteDealCommand } from '../../../api/src/deals/execute-deal-command';
import { ApiError } from '../../../api/src/http/api-error';
import { createValidationPipe } from '../../../api/src/http/validation';
import type { RawRow, RowError } from './history-file';
import { checkRow } from './history-row';

export interface ImportOptions {
  /** Recorded as the actor of every imported event. */
  readonly actor: string;
  /** Check every row (format and fields) without sending any command. */
  readonly dryRun: boolean;
  /** Stored as the correlation id of every event of this run, so the run can be found in the audit log. */
  readonly correlationId?: string;
}

export interface Rejection extends RowError {
  readonly line: number;
  readonly dealRef?: string | undefined;
  /** As written in the row, even when it is not a known step. */
  readonly step?: string | undefined;
}

export interface ImportCounts {
  readonly rows: number;
  /** Rows that appended events. */
  readonly imported: number;
  /** Rows whose events an earlier run (or an identical earlier row) already appended: nothing new. */
  readonly alreadyImported: number;
  /** Dry run only: rows that passed every check made without the event store. */
  readonly valid: number;
  readonly rejected: number;
  readonly correlationId: string;
}

export interface ImportListener {
  onRejected?(rejection: Rejection): void;
  onProgress?(counts: ImportCounts): void;
}

/**
 * Imports deal history row by row, in file order: each row is checked like an HTTP request, then
 * sent through the CommandBus as the step's deal command. A bad row is reported and skipped; the
 * good ones are imported. Rows already imported (same content) are answered from the deal's stream
 * and append nothing, so running the same file twice is safe.
 */
export async function importHistory(
  commandBus: CommandBus,
  rows: AsyncIterable<RawRow>,
  options: ImportOptions,
  listener: ImportListener = {},
): Promise<ImportCounts> {
  const pipe: ValidationPipe = createValidationPipe();
  const correlationId = options.correlationId ?? randomUUID();
  const counts = { rows: 0, imported: 0, alreadyImported: 0, valid: 0, rejected: 0, correlationId };
  const reject = (rejection: Rejection): void => {
    counts.rejected++;
    listener.onRejected?.(rejection);
  };
  for await (const row of rows) {
    counts.rows++;
    listener.onProgress?.(counts);
    if ('error' in row) {
      reject({ line: row.line, ...row.error });
      continue;
    }
    const checked = await checkRow(row.record, pipe);
    if (!checked.ok) {
      reject({ line: row.line, dealRef: checked.dealRef, step: stepOf(row.record), ...checked.error });
      continue;
    }
    const { command } = checked;
    if (options.dryRun) {
      counts.valid++;
      continue;
    }
    try {
      const result = await commandBus.execute(
        new ExecuteDealCommand(command.dealId, command.input, {
          actor: options.actor,
          correlationId,
          idempotencyKey: command.idempotencyKey,
          requestHash: command.requestHash,
        }),
      );
      if (result.replayed) counts.alreadyImported++;
      else counts.imported++;
    } catch (error) {
      // A stage rule or a request-level refusal is about this row; anything else (a disk fault) stops the run.
      if (!(error instanceof DealRefused) && !(error instanceof ApiError)) throw error;
      reject({
        line: row.line,
        dealRef: command.dealRef,
        step: command.step,
        code: error.code,
        message: error.message,
        ...(error.details === undefined ? {} : { details: detailsOf(error.details) }),
      });
    }
  }
  return counts;
}

function stepOf(record: Readonly<Record<string, unknown>>): string | undefined {
  const step = record['step'];
  return typeof step === 'string' ? step.slice(0, 40) : undefined;
}

function detailsOf(details: unknown): RowError['details'] | undefined {
  return Array.isArray(details) ? (details as RowError['details']) : undefined;
}

/** `line 7 (deal ACME-2, proposal): VALIDATION_FAILED amount: amount must be …` */
export function describeRejection(rejection: Rejection): string {
  const where = [rejection.dealRef === undefined ? undefined : `deal ${rejection.dealRef}`, rejection.step].filter(Boolean).join(', ');
  const fields = rejection.details?.map((detail) => `${detail.field}: ${detail.problems.join('; ')}`).join(' | ');
  return `line ${rejection.line}${where ? ` (${where})` : ''}: ${rejection.code} ${fields ?? rejection.message}`;
}
