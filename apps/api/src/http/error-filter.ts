import { DealRefused, type RefusalKind } from '@deals/domain';
import { AppendTooLargeError } from '@deals/event-store';
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiError } from './api-error';

const refusalStatus: Record<RefusalKind, number> = { conflict: 409, invalid: 400, not_found: 404 };

/** Codes for the errors Nest raises itself (Fastify's, such as a body over the limit, reach us as Nest's), by status. */
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

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof DealRefused) {
    return new ApiError(refusalStatus[error.kind], error.code, error.message, error.details);
  }
  if (error instanceof AppendTooLargeError) {
    return new ApiError(413, 'PAYLOAD_TOO_LARGE', 'The change is larger than one append may be');
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const message = status === 415 ? 'Send the body as application/json' : error.message;
    return new ApiError(status, frameworkCodes[status] ?? `HTTP_${status}`, message);
  }
  return new ApiError(500, 'INTERNAL_ERROR', 'Something went wrong on our side; the change may not have been applied');
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const apiError = toApiError(error);
    if (apiError.statusCode >= 500) this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    if (apiError.statusCode === 401) void reply.header('www-authenticate', 'Bearer');
    void reply.status(apiError.statusCode).header('content-type', 'application/json; charset=utf-8').send(apiError.toBody());
  }
}
