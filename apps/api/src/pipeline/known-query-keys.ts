import { ApiError } from '../http/api-error';

/**
 * Refuses query parameters the request class does not name, judged on the raw URL. The
 * validation pipe refuses unknown parameters it sees, but the query parser drops some before it
 * does (`__proto__`, `constructor`): a hostile parameter must be refused, not silently ignored.
 */
export function refuseUnknownQueryKeys(url: string, known: readonly string[]): void {
  const start = url.indexOf('?');
  if (start < 0) return;
  const unknown = [...new Set(new URLSearchParams(url.slice(start + 1)).keys())].filter((key) => !known.includes(key));
  if (unknown.length === 0) return;
  throw new ApiError(
    400,
    'VALIDATION_FAILED',
    `Invalid request: ${unknown.join(', ')}`,
    unknown.map((field) => ({ field, problems: [`property ${field} should not exist`] })),
  );
}
