import type { FastifyInstance } from 'fastify';
import { ApiError } from './api-error';

/**
 * Bodies are JSON and nothing else: other media types get 415, and JSON that does not parse, or
 * that carries prototype-polluting keys, gets 400 MALFORMED_JSON, with our error shape.
 */
export function acceptJsonOnly(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parseJson(request, body as string, (error: Error | null, value?: unknown) => {
      if (error) done(new ApiError(400, 'MALFORMED_JSON', 'The body is not valid JSON', { reason: error.message }), undefined);
      else done(null, value);
    });
  });
}
