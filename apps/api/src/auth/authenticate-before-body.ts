import type { ApiKey } from '@deals/platform';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiKeyRing } from './api-keys';

/** True when the request says a body follows (a length above zero, or a chunked one) where a route may take one: not on a GET or HEAD. */
function carriesBody(request: FastifyRequest): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return false;
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * A body is read only for a caller with a known key: without one, 401 comes before the body's size,
 * media type or JSON are looked at, so an unknown caller gets the same answer whatever it sends and
 * costs no parsing. Every route that takes a body is a protected one, and none is a GET (a health
 * probe that sends one is answered as before); roles are still checked by ApiKeyGuard, once the
 * route is known.
 */
export function authenticateBeforeBody(fastify: FastifyInstance, keys: readonly ApiKey[]): void {
  const ring = new ApiKeyRing(keys);
  fastify.addHook('preParsing', async (request) => {
    if (carriesBody(request)) ring.authenticate(request.headers.authorization);
  });
}
