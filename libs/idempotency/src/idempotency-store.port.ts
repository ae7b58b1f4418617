/**
 * Remembers which request first used an Idempotency-Key, so a retry is answered from the first
 * outcome and the same key with another request is refused. Keys are scoped by the caller.
 */
export interface IdempotencyClaim {
  /** Fingerprint of the request: method, path and canonical body. */
  readonly requestHash: string;
  readonly dealId: string;
  readonly commandId: string;
}

export interface ClaimResult {
  /** The claim that holds the key: the one passed in when `created`, else the earlier one. */
  readonly claim: IdempotencyClaim;
  readonly created: boolean;
}

export interface IdempotencyStore {
  /** Atomically records the claim unless the key is already held, and returns the holder. */
  claim(scope: string, key: string, claim: IdempotencyClaim): Promise<ClaimResult>;
  close(): Promise<void>;
}

/** How long a key is remembered, as with the payment APIs that made the header common. */
export const idempotencyKeyTtlMs = 24 * 60 * 60 * 1000;
