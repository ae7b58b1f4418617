import { applyDecorators, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { Roles } from '../../auth/roles';
import { CommandAnswerResponse } from './command-answer.response';

export const idempotencyKeyHeader = ApiHeader({
  name: 'Idempotency-Key',
  required: false,
  description: 'A retried request with the same key appends nothing new and gets the first answer; the same key with another request is refused (422)',
});

/** The route, roles and documented answers every command on an existing deal shares. */
export function DealCommandRoute(path: string, summary: string): MethodDecorator {
  return applyDecorators(
    Post(`:id/${path}`),
    HttpCode(200),
    Roles('sales'),
    ApiBearerAuth(),
    ApiOperation({ summary }),
    idempotencyKeyHeader,
    ApiHeader({
      name: 'If-Match',
      required: false,
      description: 'The deal version the change is based on (3 or "3"); a stale version gets 409 VERSION_CONFLICT',
    }),
    ApiOkResponse({ type: CommandAnswerResponse, description: 'Applied; the new version is also in ETag' }),
    ApiBadRequestResponse({ description: 'VALIDATION_FAILED, MALFORMED_JSON and the invalid refusals' }),
    ApiUnauthorizedResponse({ description: 'UNAUTHENTICATED' }),
    ApiForbiddenResponse({ description: 'FORBIDDEN' }),
    ApiNotFoundResponse({ description: 'DEAL_NOT_FOUND' }),
    ApiConflictResponse({ description: 'A stage rule refused the change, or VERSION_CONFLICT' }),
    ApiUnprocessableEntityResponse({ description: 'IDEMPOTENCY_KEY_REUSED' }),
  );
}
