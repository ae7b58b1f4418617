import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';

/** The error body every endpoint answers with (ErrorBody in api-error.ts), as the OpenAPI description shows it. */
export class ErrorResponse {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'VALIDATION_FAILED', description: 'Stable: clients branch on it (docs/api.md, Errors)' })
  code!: string;

  @ApiProperty({ example: 'Invalid request: title' })
  message!: string;

  @ApiPropertyOptional({
    description: 'What was wrong; for VALIDATION_FAILED, one { field, problems } per bad field',
    example: [{ field: 'title', problems: ['title must be single-line text of 1 to 200 characters, not blank, without control characters'] }],
  })
  details?: unknown;
}

/** Error answers of a route, status → what it means there, each with the error body. */
export function ErrorAnswers(answers: Readonly<Record<number, string>>): MethodDecorator {
  return applyDecorators(...Object.entries(answers).map(([status, description]) => ApiResponse({ status: Number(status), description, type: ErrorResponse })));
}

/** What every route behind the API key guard may answer, whatever it does. */
export const guardedAnswers = {
  401: 'UNAUTHENTICATED: no API key, or one not configured',
  403: 'FORBIDDEN: the key lacks a role the route needs',
} as const;

/** What a route with a deal id in its path answers for a bad one. */
export const dealIdAnswers = {
  400: 'VALIDATION_FAILED: the id is not a UUID',
  404: 'DEAL_NOT_FOUND',
  414: 'URI_TOO_LONG: the id is over 200 characters',
} as const;

/** What every command may answer besides its own refusals. */
export const commandAnswers = {
  ...guardedAnswers,
  400: 'VALIDATION_FAILED (each bad field named), MALFORMED_JSON (not JSON, not UTF-8, or prototype-polluting keys), INVALID_IF_MATCH, INVALID_IDEMPOTENCY_KEY, or a rule on the values',
  413: 'PAYLOAD_TOO_LARGE: over BODY_LIMIT_BYTES',
  415: 'UNSUPPORTED_MEDIA_TYPE: not application/json',
  422: 'IDEMPOTENCY_KEY_REUSED: the key was used for another request',
} as const;
