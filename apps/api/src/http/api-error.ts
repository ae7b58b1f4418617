/** The error body every endpoint answers with: a stable `code` clients can branch on. */
export interface ErrorBody {
  readonly statusCode: number;
  readonly code: string;
  readonly message: string;
  readonly details?: unknown;
}

/** A bad field of a request, and what is wrong with it. */
export interface FieldError {
  readonly field: string;
  readonly problems: readonly string[];
}

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): ErrorBody {
    return {
      statusCode: this.statusCode,
      code: this.code,
      message: this.message,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** 400 VALIDATION_FAILED naming each bad field: what every refusal of a request's values answers. */
export function validationFailed(details: readonly FieldError[]): ApiError {
  return new ApiError(400, 'VALIDATION_FAILED', `Invalid request: ${details.map(({ field }) => field).join(', ')}`, details);
}

/** validationFailed for one field and one problem. */
export function invalidField(field: string, problem: string): ApiError {
  return validationFailed([{ field, problems: [problem] }]);
}
