import { hash, timingSafeEqual } from 'node:crypto';
import type { ApiKey } from '@deals/platform';

function digest(text: string): Buffer {
  // One-shot hash: no Hash object per request.
  return hash('sha256', text, 'buffer');
}

/** Finds the configured key a caller presented, comparing digests in constant time so timing leaks no prefix. */
export class ApiKeyRing {
  private readonly keys: ReadonlyArray<ApiKey & { readonly digest: Buffer }>;

  constructor(keys: readonly ApiKey[]) {
    this.keys = keys.map((key) => ({ ...key, digest: digest(key.key) }));
  }

  find(presented: string): ApiKey | undefined {
    const given = digest(presented);
    return this.keys.find((candidate) => timingSafeEqual(candidate.digest, given));
  }
}
