import { hash } from 'node:crypto';
import { createParamDecorator, type ExecutionContext, type PipeTransform, Injectable } from '@nestjs/common';
import type { AuthenticatedRequest } from '../auth/authenticated-actor';
import type { CommandContext } from '../deals/execute-deal-command';
import { ApiError, invalidField } from './api-error';

const tokenPattern = /^[\x21-\x7e]{1,255}$/;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export type RequestWithCorrelation = AuthenticatedRequest & { correlationId?: string };

/** The correlation id a caller sent, when it is a sane token; otherwise a new one is made. */
export function acceptedCorrelationId(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && tokenPattern.test(header) && header.length <= 128 ? header : undefined;
}

/** If-Match carries the deal's version as a number, or as the quoted ETag `"3"`; `*` checks nothing. */
export function parseIfMatch(header: string | undefined): bigint | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:"(\d{1,15})"|(\d{1,15}))\s*$/.exec(header);
  if (!match) {
    throw new ApiError(400, 'INVALID_IF_MATCH', 'If-Match must be the deal version, as 3 or "3"', { ifMatch: header });
  }
  return BigInt(match[1] ?? match[2]!);
}

export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!tokenPattern.test(header)) {
    throw new ApiError(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  }
  return header;
}

/** JSON with object keys sorted, so the same body in another key order has the same fingerprint. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function header(request: AuthenticatedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * The path as the route reads it: its template with the deal id in the form the route uses (ids are
 * UUIDs, whose letter case means nothing), so that /deals/ABC…/qualification and /deals/abc…/qualification
 * are one request. For a path typed in that form it is the path itself.
 */
function routedPath(request: AuthenticatedRequest): string {
  const { id } = request.params as { id?: unknown };
  const template = request.routeOptions.url ?? request.url.split('?')[0]!;
  return typeof id === 'string' ? template.replace(':id', canonicalDealId(id)) : template;
}

/** A deal id in the one form the service stores and compares: UUIDs are case-insensitive. */
function canonicalDealId(id: string): string {
  return id.toLowerCase();
}

/** Who sent the command and how: actor, correlation, idempotency key, If-Match and the request's fingerprint. */
export const CommandRequest = createParamDecorator((_: unknown, context: ExecutionContext): CommandContext => {
  const request = context.switchToHttp().getRequest<RequestWithCorrelation>();
  if (!request.actor || !request.correlationId) throw new Error('CommandRequest used on an unauthenticated route');
  const idempotencyKey = parseIdempotencyKey(header(request, 'idempotency-key'));
  const expectedVersion = parseIfMatch(header(request, 'if-match'));
  const causationId = header(request, 'x-causation-id');
  const requestHash = hash('sha256', `${request.method} ${routedPath(request)}\n${canonicalJson(request.body)}`, 'hex');
  return {
    actor: request.actor.name,
    correlationId: request.correlationId,
    requestHash,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    ...(expectedVersion === undefined ? {} : { expectedVersion }),
    ...(causationId !== undefined && acceptedCorrelationId(causationId) ? { causationId } : {}),
  };
});

/** Deal ids are UUIDs; anything else is refused before it reaches the store. */
@Injectable()
export class DealIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!uuidPattern.test(value)) {
      throw invalidField('id', 'id must be a UUID');
    }
    return canonicalDealId(value);
  }
}
