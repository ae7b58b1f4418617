import { validationFailed } from './api-error';

/**
 * Refuses query parameters the validation pipe cannot see. class-transformer skips names of
 * Object.prototype members (`constructor`, `toString`, …) and Nest's ValidationPipe deletes
 * `__proto__` and `constructor` from the parsed query in place, so they would pass as if absent.
 * The names are therefore read from the raw URL. With `allowed`, any other name is refused too
 * (for routes that declare no DTO).
 */
export function refuseUnexpectedParameters(url: string, allowed?: readonly string[]): void {
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const names = [...new Set([...new URLSearchParams(query).keys()])];
  const unexpected = names.filter((name) => name in Object.prototype || (allowed !== undefined && !allowed.includes(name)));
  if (unexpected.length === 0) return;
  throw validationFailed(unexpected.map((field) => ({ field, problems: [`property ${field} should not exist`] })));
}
