import { hash, timingSafeEqual } from 'node:crypto';
import type { ApiKey } from '@deals/platform';
import { ApiError } from '../http/api-error';

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

  /** The key an `Authorization: Bearer <key>` header presents; 401 UNAUTHENTICATED when there is none or it is not known. */
  authenticate(header: string | undefined): ApiKey {
    const match = /^Bearer ([^\s]+)$/i.exec(header ?? '');
    if (!match) {
      throw new ApiError(401, 'UNAUTHENTICATED', 'Send an API key as "Authorization: Bearer <key>"');
    }
    const key = this.find(match[1]!);
    if (!key) throw new ApiError(401, 'UNAUTHENTICATED', 'The API key is not known');
    return key;
  }
}
