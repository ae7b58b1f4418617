import { DealRefused, type RefusalKind } from '@deals/domain';
import { AppendTooLargeError } from '@deals/event-store';
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiError } from './api-error';

const refusalStatus: Record<RefusalKind, number> = { conflict: 409, invalid: 400, not_found: 404 };

/** Codes for the errors Nest and Fastify raise themselves, by status. */
const frameworkCodes: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** Fastify's own error codes, for failures raised before a request reaches Nest (body parsing, limits). */
const fastifyCodes: Record<string, { statusCode: number; code: string; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { statusCode: 400, code: 'MALFORMED_JSON', message: 'The body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { statusCode: 400, code: 'MALFORMED_JSON', message: 'The body is empty' },
  FST_ERR_CTP_BODY_TOO_LARGE: { statusCode: 413, code: 'PAYLOAD_TOO_LARGE', message: 'The body is larger than allowed' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    statusCode: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Send the body as application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    statusCode: 400,
    code: 'BAD_REQUEST',
    message: 'Content-Length does not match the body',
  },
};

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof DealRefused) {
    return new ApiError(refusalStatus[error.kind], error.code, error.message, error.details);
  }
  if (error instanceof AppendTooLargeError) {
    return new ApiError(413, 'PAYLOAD_TOO_LARGE', 'The change is larger than one append may be');
  }
  const fastifyCode = (error as { code?: unknown } | null)?.code;
  if (typeof fastifyCode === 'string' && fastifyCode in fastifyCodes) {
    const known = fastifyCodes[fastifyCode]!;
    return new ApiError(known.statusCode, known.code, known.message);
  }
  if (error instanceof SyntaxError && (error as { statusCode?: number }).statusCode === 400) {
    return new ApiError(400, 'MALFORMED_JSON', 'The body is not valid JSON');
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    return new ApiError(status, frameworkCodes[status] ?? `HTTP_${status}`, error.message);
  }
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ApiError(status, frameworkCodes[status] ?? `HTTP_${status}`, (error as Error).message);
  }
  return new ApiError(500, 'INTERNAL_ERROR', 'Something went wrong on our side; the change may not have been applied');
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    sendError(reply, error, this.logger);
  }
}

export function sendError(reply: FastifyReply, error: unknown, logger: Logger): void {
  const apiError = toApiError(error);
  if (apiError.statusCode >= 500) logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  void reply.status(apiError.statusCode).header('content-type', 'application/json; charset=utf-8').send(apiError.toBody());
}
