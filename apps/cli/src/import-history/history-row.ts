import { createHash } from 'node:crypto';
import type { ValidationPipe } from '@nestjs/common';
import { v5 as uuidv5 } from 'uuid';
import { CaptureLeadRequest } from '../../../api/src/deals/capture-lead/capture-lead.request';
import { CloseDealRequest } from '../../../api/src/deals/close-deal/close-deal.request';
import type { DealCommandInput } from '../../../api/src/deals/execute-deal-command';
import { NegotiateDealRequest } from '../../../api/src/deals/negotiate-deal/negotiate-deal.request';
import { QualifyDealRequest } from '../../../api/src/deals/qualify-deal/qualify-deal.request';
import { RecordFollowUpRequest } from '../../../api/src/deals/record-follow-up/record-follow-up.request';
import { SendProposalRequest } from '../../../api/src/deals/send-proposal/send-proposal.request';
import { ApiError } from '../../../api/src/http/api-error';
import { canonicalJson } from '../../../api/src/http/command-context';
import type { RowError } from './history-file';

/** The steps of a deal's history, named as in the import format, with the API request class of each. */
export const stepRequests = {
  lead: CaptureLeadRequest,
  qualification: QualifyDealRequest,
  proposal: SendProposalRequest,
  negotiation: NegotiateDealRequest,
  closing: CloseDealRequest,
  'follow-up': RecordFollowUpRequest,
} as const;

export type Step = keyof typeof stepRequests;
export const steps = Object.keys(stepRequests) as Step[];

/** Deal ids of imported deals are UUIDv5 of the other CRM's id in this namespace (a fixed, random UUID). */
export const importNamespace = '3c0f6c1e-8a7d-4d2b-9f55-2b7e0a9d4c11';

export function importedDealId(dealRef: string): string {
  return uuidv5(dealRef, importNamespace);
}

/** A row that passed every check the API makes on a request, ready to send as a command. */
export interface ImportCommand {
  readonly dealRef: string;
  readonly dealId: string;
  readonly step: Step;
  readonly input: DealCommandInput;
  /**
   * Derived from the row's canonical content (deal, step and body, occurredAt included), so a row
   * imported again gets the same command id and is answered from the deal's stream, appending nothing.
   */
  readonly idempotencyKey: string;
  readonly requestHash: string;
}

export type CheckedRow = { readonly ok: true; readonly command: ImportCommand } | { readonly ok: false; readonly error: RowError; readonly dealRef?: string };

const dealRefRule = 'dealRef must be the deal id in the other CRM: 1 to 200 characters without surrounding spaces or control characters, or a whole number';

function isDealRef(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= 200 &&
    value.trim() === value &&
    !/\p{Cc}/u.test(value) &&
    value.isWellFormed()
  );
}

/**
 * Checks one raw row: its dealRef, step and occurredAt (required here, unlike the API, because
 * imported history must say when it happened), then the body with the API's own request class and
 * validation pipe, so there is one set of rules for both ways in.
 */
export async function checkRow(record: Readonly<Record<string, unknown>>, pipe: ValidationPipe): Promise<CheckedRow> {
  const { dealRef: rawRef, step: rawStep, ...body } = record;
  const problems: Array<{ field: string; problems: string[] }> = [];
  const dealRef = typeof rawRef === 'number' && Number.isSafeInteger(rawRef) ? String(rawRef) : rawRef;
  if (!isDealRef(dealRef)) {
    problems.push({ field: 'dealRef', problems: [dealRef === undefined ? 'dealRef is required' : dealRefRule] });
  }
  const step = typeof rawStep === 'string' && rawStep in stepRequests ? (rawStep as Step) : undefined;
  if (step === undefined) {
    problems.push({ field: 'step', problems: [`step must be one of ${steps.join(', ')}`] });
  }
  if (body['occurredAt'] === undefined) {
    problems.push({ field: 'occurredAt', problems: ['occurredAt is required for imported history (ISO 8601, when the step happened)'] });
  }
  const ref = isDealRef(dealRef) ? dealRef : undefined;
  if (problems.length > 0 || step === undefined || ref === undefined) {
    return { ok: false, error: validationFailed(problems), ...(ref === undefined ? {} : { dealRef: ref }) };
  }
  let validated: InstanceType<(typeof stepRequests)[Step]>;
  try {
    validated = (await pipe.transform(body, { type: 'body', metatype: stepRequests[step], data: undefined })) as typeof validated;
  } catch (error) {
    if (error instanceof ApiError) return { ok: false, dealRef: ref, error: asRowError(error) };
    throw error;
  }
  const key = createHash('sha256').update(canonicalJson({ dealRef: ref, step, body })).digest('hex');
  return {
    ok: true,
    command: {
      dealRef: ref,
      dealId: importedDealId(ref),
      step,
      input: validated.toCommand(),
      idempotencyKey: `import:${key}`,
      requestHash: key,
    },
  };
}

function validationFailed(details: Array<{ field: string; problems: string[] }>): RowError {
  return { code: 'VALIDATION_FAILED', message: `Invalid row: ${details.map((detail) => detail.field).join(', ')}`, details };
}

function asRowError(error: ApiError): RowError {
  const details = Array.isArray(error.details) ? (error.details as RowError['details']) : undefined;
  return { code: error.code, message: error.message, ...(details ? { details } : {}) };
}
