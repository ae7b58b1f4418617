import { applyDecorators, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { Roles } from '../../auth/roles';
import { commandAnswers, dealIdAnswers, ErrorAnswers } from '../../http/error-answers';
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
    ApiOkResponse({ type: CommandAnswerResponse, description: 'Applied (or, with Idempotency-Key, answered again: Idempotent-Replayed: true); the new version is also in ETag' }),
    ErrorAnswers({
      ...dealIdAnswers,
      ...commandAnswers,
      409: 'A stage rule refused the change (its own code), or VERSION_CONFLICT: If-Match is not the current version',
    }),
  );
}
