import { randomUUID } from 'node:crypto';
import type { IdempotencyClaim, IdempotencyStore } from '../idempotency-store.port';

export interface IdempotencyStoreFixture {
  readonly store: IdempotencyStore;
  /** Moves the store's clock forward. */
  readonly advanceTime: (ms: number) => void;
  readonly cleanup: () => Promise<void>;
}

function claimFor(requestHash: string): IdempotencyClaim {
  return { requestHash, dealId: randomUUID(), commandId: randomUUID() };
}

/** The behaviour every idempotency store adapter must show. */
export function describeIdempotencyStoreConformance(adapter: string, createFixture: () => Promise<IdempotencyStoreFixture>): void {
  describe(`IdempotencyStore conformance: ${adapter}`, () => {
    let fixture: IdempotencyStoreFixture;
    beforeEach(async () => {
      fixture = await createFixture();
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('gives a free key to the first claim', async () => {
      const claim = claimFor('hash-a');
      await expect(fixture.store.claim('alice', randomUUID(), claim)).resolves.toEqual({ claim, created: true });
    });

    it('answers a second claim of the same key with the first claim', async () => {
      const key = randomUUID();
      const first = claimFor('hash-a');
      await fixture.store.claim('alice', key, first);
      await expect(fixture.store.claim('alice', key, claimFor('hash-b'))).resolves.toEqual({ claim: first, created: false });
    });

    it('keeps the keys of different callers apart', async () => {
      const key = randomUUID();
      await fixture.store.claim('alice', key, claimFor('hash-a'));
      const bobs = claimFor('hash-b');
      await expect(fixture.store.claim('bob', key, bobs)).resolves.toEqual({ claim: bobs, created: true });
    });

    it('lets exactly one of many concurrent claims of one key win', async () => {
      const key = randomUUID();
      const claims = Array.from({ length: 20 }, (_, i) => claimFor(`hash-${i}`));
      const results = await Promise.all(claims.map((claim) => fixture.store.claim('alice', key, claim)));
      expect(results.filter((result) => result.created)).toHaveLength(1);
      const winner = results.find((result) => result.created)?.claim;
      expect(results.every((result) => result.claim.requestHash === winner?.requestHash)).toBe(true);
    });

    it('forgets a key after a day', async () => {
      const key = randomUUID();
      await fixture.store.claim('alice', key, claimFor('hash-a'));
      fixture.advanceTime(24 * 60 * 60 * 1000 + 1);
      const later = claimFor('hash-b');
      await expect(fixture.store.claim('alice', key, later)).resolves.toEqual({ claim: later, created: true });
    });
  });
}
