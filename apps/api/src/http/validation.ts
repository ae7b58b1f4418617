import { RecentMap } from '@deals/platform';
import { type ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { getMetadataStorage, type ValidationError } from 'class-validator';
import { ApiError, type FieldError, validationFailed } from './api-error';

/** Flattens nested class-validator errors into one entry per bad field, named by its path. */
export function fieldErrors(errors: readonly ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const constraints = { ...error.constraints };
    // "nested property X must be either object or array" only repeats what isObject says.
    if ('isObject' in constraints) delete constraints['nestedValidation'];
    const problems = Object.values(constraints);
    const own = problems.length > 0 ? [{ field, problems }] : [];
    return [...own, ...fieldErrors(error.children ?? [], field)];
  });
}

/** Valid query strings kept per parameter class; their keys are at most a request line long. */
const validQueriesKept = 256;

/**
 * Refuses a body that is not a JSON object, and a query parameter given more than once (it arrives
 * as a list, which no parameter takes), before class-validator sees them: its messages would describe
 * the list, not the repetition.
 */
class RequestValidationPipe extends ValidationPipe {
  /**
   * Query strings found valid, per parameter class, as the frozen objects they became: a dashboard
   * asks the same few questions again and again, and class-validator took about a tenth of a
   * millisecond each time (a tenth of the API's main thread under the bench's queries). Validation
   * is a function of the string alone (checks against the clock stay in the controllers), and only
   * what passed is kept, so a refusal is worked out, and answered, every time.
   */
  private readonly validQueries = new Map<ArgumentMetadata['metatype'], RecentMap<string, object>>();

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new ApiError(400, 'VALIDATION_FAILED', 'The body must be a JSON object', [
        { field: 'body', problems: ['must be a JSON object'] },
      ]);
    }
    if (metadata.type === 'query' && metadata.metatype !== undefined && typeof value === 'object' && value !== null) {
      const lists = Object.entries(value).filter(([, given]) => Array.isArray(given));
      // Only a declared parameter is refused as repeated; an unknown one, repeated or not, as unknown.
      const declared = lists.length === 0 ? [] : getMetadataStorage().getTargetValidationMetadatas(metadata.metatype, '', true, false).map((rule) => rule.propertyName);
      const repeated = lists.filter(([name]) => declared.includes(name)).map(([field]) => ({ field, problems: [`${field} must be given once`] }));
      if (repeated.length > 0) throw validationFailed(repeated);
      return this.validQuery(value, metadata);
    }
    return super.transform(value, metadata);
  }

  private async validQuery(value: object, metadata: ArgumentMetadata): Promise<unknown> {
    // A parameter of no class of ours is handed over as it came (the request's own object): not kept.
    if (!this.toValidate(metadata)) return super.transform(value, metadata);
    const key = JSON.stringify(value);
    let valid = this.validQueries.get(metadata.metatype);
    const known = valid?.get(key);
    if (known !== undefined) return known;
    const parameters = (await super.transform(value, metadata)) as object;
    if (valid === undefined) this.validQueries.set(metadata.metatype, (valid = new RecentMap(validQueriesKept)));
    valid.set(key, Object.freeze(parameters));
    return parameters;
  }
}

/** Unknown fields are refused, types are not coerced, and every bad field is named in the answer. */
export function createValidationPipe(): ValidationPipe {
  return new RequestValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => validationFailed(fieldErrors(errors)),
  });
}
