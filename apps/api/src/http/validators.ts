import { isCurrencyCode } from '@deals/domain';
import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { registerDecorator, ValidateIf, type ValidationArguments, type ValidationOptions } from 'class-validator';

// Control characters (C0, DEL and C1, U+0085 among them) other than tab and line breaks have no
// place in business text; single-line text has no line or paragraph separator either.
const controlCharacters = /[^\P{Cc}\t\n\r]/u;
const lineBreaks = /[\r\n\t\u2028\u2029]/;
// Blank: nothing but white space and invisible format characters (zero-width spaces, BOMs).
const visible = /[^\s\p{Cf}]/u;

/** Characters as a person counts them: code points, so that an emoji (two UTF-16 units) is one. */
function characterCount(value: string): number {
  let count = 0;
  for (let index = 0; index < value.length; index++) {
    const unit = value.charCodeAt(index);
    // A pair (well-formedness is checked apart) counts once, at its low half.
    if (unit < 0xd800 || unit > 0xdbff) count++;
  }
  return count;
}

/**
 * An optional field: it may be left out, but not sent as null. class-validator's IsOptional lets
 * null through unchecked, and null would reach the events (an occurredAt of null even became 1970).
 */
export function OptionalNotNull(options?: ValidationOptions): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined, options);
}

function define(
  name: string,
  message: (args: ValidationArguments) => string,
  test: (value: unknown) => boolean,
  options?: ValidationOptions,
): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: propertyName as string,
      ...(options === undefined ? {} : { options }),
      validator: { validate: test, defaultMessage: message },
    });
}

/**
 * Text a person typed: a string of 1 to `maxLength` characters, not blank, well-formed Unicode
 * (no lone surrogates, which would not survive storage), and no control characters. Single-line
 * unless `multiline`.
 */
export function IsText(maxLength: number, { multiline = false } = {}, options?: ValidationOptions): PropertyDecorator {
  const isText = (value: unknown) =>
    typeof value === 'string' &&
    value.isWellFormed() &&
    characterCount(value) <= maxLength &&
    visible.test(value) &&
    !controlCharacters.test(value) &&
    (multiline || !lineBreaks.test(value));
  return define(
    'isText',
    ({ property, value }) => {
      // A list's rule (`each`) names the items that broke it: objections[2], not the whole list.
      const items = options?.each && Array.isArray(value) ? value.flatMap((item: unknown, index) => (isText(item) ? [] : [`${property}[${index}]`])) : [];
      const subject = items.length > 0 ? items.join(', ') : property;
      return `${subject} must be ${multiline ? '' : 'single-line '}text of 1 to ${maxLength} characters, not blank, without control characters`;
    },
    isText,
    options,
  );
}

/** A whole number from `min` to `max`, with one message for whatever else comes (class-validator's IsInt, Min and Max each add their own, some of them beside the point). */
export function IsWholeNumber(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return define(
    'isWholeNumber',
    ({ property }) => `${property} must be a whole number from ${min} to ${max}`,
    (value) => Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max,
    options,
  );
}

/**
 * A page size in a query string, from 1 to `max`. Query values are text: only decimal digits become
 * a number, anything else stays text and is refused.
 */
export function PageSize(max: number): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value)),
    IsWholeNumber(1, max),
  );
}

const isoDateTime = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
const earliest = Date.parse('1970-01-01T00:00:00Z');
const latest = Date.parse('9999-12-31T23:59:59Z');

/** An ISO 8601 date or date-time with a zone, that names a real day, from 1970 on. */
export function IsIsoTime(options?: ValidationOptions): PropertyDecorator {
  return define(
    'isIsoTime',
    ({ property }) => `${property} must be an ISO 8601 date (2026-03-01) or date-time with a time zone (2026-03-01T09:30:00Z), from 1970 on`,
    (value) => {
      if (typeof value !== 'string' || !isoDateTime.test(value)) return false;
      const time = Date.parse(value);
      if (Number.isNaN(time) || time < earliest || time > latest) return false;
      // Date.parse rolls 2026-02-30 over to March; a real day keeps its date part.
      return new Date(time + offsetMs(value)).toISOString().slice(0, 10) === value.slice(0, 10);
    },
    options,
  );
}

function offsetMs(value: string): number {
  const zone = /([+-])(\d{2}):(\d{2})$/.exec(value);
  if (!zone) return 0;
  const minutes = Number(zone[2]) * 60 + Number(zone[3]);
  return (zone[1] === '+' ? 1 : -1) * minutes * 60_000;
}

export const maxAmount = 1_000_000_000_000;

export function isAmount(value: unknown): value is number {
  return (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= 0 &&
    value <= maxAmount &&
    decimalPlaces(value) <= 4
  );
}

/**
 * Decimals of a number as written in its shortest form (what JSON.stringify writes back), so that
 * 0.30000000000000004 has 17; tiny numbers written with an exponent have more than any rule allows.
 */
function decimalPlaces(value: number): number {
  const text = String(value);
  if (text.includes('e')) return Infinity;
  const point = text.indexOf('.');
  return point === -1 ? 0 : text.length - point - 1;
}

function isMoney(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value).sort();
  const { amount, currency } = value as { amount?: unknown; currency?: unknown };
  return (
    keys.length === 2 &&
    keys[0] === 'amount' &&
    keys[1] === 'currency' &&
    isAmount(amount) &&
    typeof currency === 'string' &&
    isCurrencyCode(currency)
  );
}

const amountRule = `a number from 0 to ${maxAmount} with at most 4 decimals`;

/**
 * A finite number with at most `places` decimals, counted as decimalPlaces counts them (class-validator's
 * maxDecimalPlaces throws on a number it writes with an exponent, such as 1e-7, and the request got a 500).
 */
export function HasDecimals(places: number, options?: ValidationOptions): PropertyDecorator {
  return define(
    'hasDecimals',
    ({ property }) => `${property} must be a number with at most ${places} decimals`,
    (value) => typeof value === 'number' && Number.isFinite(value) && decimalPlaces(value) <= places,
    options,
  );
}

/** An amount from 0 to a trillion with at most 4 decimals. */
export function IsAmount(options?: ValidationOptions): PropertyDecorator {
  return define('isAmount', ({ property }) => `${property} must be ${amountRule}`, isAmount, options);
}

/**
 * `{ amount, currency }` with an ISO 4217 currency, or, where the deal already has a currency, a bare
 * amount. `requiredWhen` says, when the field is left out where it is validated, why it is needed.
 */
export function IsMoneyOrAmount({ requiredWhen, ...options }: ValidationOptions & { readonly requiredWhen?: string } = {}): PropertyDecorator {
  const rule = `${amountRule}, or { amount, currency } with an ISO 4217 currency code`;
  return define(
    'isMoneyOrAmount',
    ({ property, value }) => (value === undefined && requiredWhen !== undefined ? `${property} is required when ${requiredWhen}: ${rule}` : `${property} must be ${rule}`),
    (value) => isAmount(value) || isMoney(value),
    options,
  );
}

export function IsCurrency(options?: ValidationOptions): PropertyDecorator {
  return define(
    'isCurrency',
    ({ property }) => `${property} must be an ISO 4217 currency code such as EUR or USD`,
    (value) => typeof value === 'string' && isCurrencyCode(value),
    options,
  );
}
