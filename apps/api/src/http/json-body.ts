import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { ApiError, validationFailed } from './api-error';

/**
 * Bodies are JSON and nothing else: other media types get 415, and JSON that does not parse, is not
 * UTF-8 (decoding would put U+FFFD in place of the bad bytes, and store that), or carries
 * prototype-polluting keys, gets 400 MALFORMED_JSON, with our error shape. JSON nested
 * deeper than any request needs, or with keys named after Object.prototype members, gets 400
 * VALIDATION_FAILED before anything recursive (hashing, class-transformer) walks it.
 */
export function acceptJsonOnly(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    if (!isUtf8(body as Buffer)) return done(new ApiError(400, 'MALFORMED_JSON', 'The body is not valid JSON', { reason: 'the body is not UTF-8' }), undefined);
    const text = (body as Buffer).toString('utf8');
    void parseJson(request, text, (error: Error | null, value?: unknown) => {
      if (error) return done(new ApiError(400, 'MALFORMED_JSON', 'The body is not valid JSON', { reason: whyNotJson(text) }), undefined);
      const problem = shapeProblem(value);
      if (problem) return done(validationFailed([problem]), undefined);
      done(null, value);
    });
  });
}

/**
 * What is wrong with a body Fastify's parser refused, in words a client can act on: Fastify answers
 * every refusal with one message, hiding where the JSON broke and that a prototype key was the cause.
 */
function whyNotJson(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as SyntaxError).message;
  }
  return 'the body has a __proto__ or constructor.prototype key, refused as a prototype-pollution attempt';
}

/** No request body needs more than a few levels; this bound keeps recursion far from the stack limit. */
export const maxBodyDepth = 32;

/**
 * Walks the parsed body without recursion. Keys such as `constructor` or `toString` would be
 * skipped silently by class-transformer (so never refused as unknown fields); they are refused here.
 */
export function shapeProblem(body: unknown): { field: string; problems: string[] } | undefined {
  const pending: Array<{ value: unknown; path: string; depth: number }> = [{ value: body, path: '', depth: 0 }];
  while (pending.length > 0) {
    const { value, path, depth } = pending.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= maxBodyDepth) {
      const field = Array.isArray(body) ? 'body' : path.split('.')[0] || 'body';
      return { field, problems: [`must not be nested more than ${maxBodyDepth} levels deep`] };
    }
    for (const [key, item] of Object.entries(value)) {
      const field = path ? `${path}.${key}` : key;
      if (!Array.isArray(value) && key in Object.prototype) {
        return { field, problems: [`property ${key} should not exist`] };
      }
      pending.push({ value: item, path: field, depth: depth + 1 });
    }
  }
  return undefined;
}
