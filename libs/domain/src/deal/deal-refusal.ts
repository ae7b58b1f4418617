/**
 * Why the Deal refused a command. `conflict` refusals depend on the deal's current state
 * (HTTP 409); `invalid` ones are wrong whatever the state (HTTP 400); `not_found` means there is no deal.
 */
export const refusals = {
  DEAL_NOT_FOUND: 'not_found',
  DEAL_ALREADY_EXISTS: 'conflict',
  DEAL_CLOSED: 'conflict',
  DEAL_NOT_CLOSED: 'conflict',
  NOT_QUALIFIED: 'conflict',
  ALREADY_PAST_QUALIFICATION: 'conflict',
  NO_PROPOSAL: 'conflict',
  OCCURRED_BEFORE_PREVIOUS_EVENT: 'conflict',
  OCCURRED_IN_FUTURE: 'invalid',
  FINAL_AMOUNT_REQUIRED: 'invalid',
  VALID_UNTIL_BEFORE_PROPOSAL: 'invalid',
  EMPTY_NEGOTIATION_ROUND: 'invalid',
} as const;

export type RefusalCode = keyof typeof refusals;
export type RefusalKind = (typeof refusals)[RefusalCode];

export class DealRefused extends Error {
  readonly kind: RefusalKind;

  constructor(
    readonly code: RefusalCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'DealRefused';
    this.kind = refusals[code];
  }
}
