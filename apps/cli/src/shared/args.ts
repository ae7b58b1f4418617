import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './cli-io';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs, strict, with its errors turned into usage errors (exit 2). Positionals are
 * allowed only when the command takes some.
 */
export function parseCommandArgs<O extends Options>(args: readonly string[], options: O, maxPositionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: maxPositionals > 0 });
  } catch (error) {
    // Checked by code, not by class: node's own TypeError is another realm's class under jest.
    if (isParseArgsError(error)) throw new UsageError(error.message);
    throw error;
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`Unexpected argument ${JSON.stringify(parsed.positionals[maxPositionals])}`);
  }
  return parsed;
}

function isParseArgsError(error: unknown): error is Error & { code: string } {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && error.code.startsWith('ERR_PARSE_ARGS') && 'message' in error;
}

/** The option's value when it is one of `allowed`; a usage error naming the option otherwise. */
export function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T;
export function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined;
export function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback?: T): T | undefined {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  }
  return value as T;
}

const isoDateTime = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/**
 * An ISO 8601 date (midnight UTC) or date-time with a zone, as the API takes them; a date-time
 * without a zone is ambiguous and refused.
 */
export function isoTime(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (!isoDateTime.test(value) || Number.isNaN(time)) {
    throw new UsageError(`--${name} must be an ISO 8601 date (2026-03-01) or date-time with a zone (2026-03-01T09:30:00Z); got ${JSON.stringify(value)}`);
  }
  return new Date(time);
}

/** Names that end up in file names and key prefixes: short, and nothing a path or a key could misread. */
export function safeName(name: string, value: string): string {
  if (!/^[a-z0-9][a-z0-9_-]{0,39}$/.test(value)) {
    throw new UsageError(`--${name} must be 1 to 40 lower-case letters, digits, - or _, starting with a letter or digit; got ${JSON.stringify(value)}`);
  }
  return value;
}
