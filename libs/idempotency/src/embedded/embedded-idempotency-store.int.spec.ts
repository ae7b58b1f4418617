import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, rowsCheckpointed } from '@deals/platform/testing';
import { describeIdempotencyStoreConformance } from '../testing/idempotency-store-conformance';
import { EmbeddedIdempotencyStore } from './embedded-idempotency-store';

describeIdempotencyStoreConformance('embedded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'idempotency-'));
  let now = Date.now();
  const store = EmbeddedIdempotencyStore.open(join(dir, 'idempotency.sqlite'), { now: () => now });
  return {
    store,
    advanceTime: (ms) => {
      now += ms;
    },
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('EmbeddedIdempotencyStore group commit', () => {
  it('commits the claims made in one turn of the event loop in one transaction, each answered on its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idempotency-'));
    const store = EmbeddedIdempotencyStore.open(join(dir, 'idempotency.sqlite'));
    try {
      const keys = Array.from({ length: 50 }, () => randomUUID());
      const claims = keys.map((_, index) => ({ requestHash: `hash-${index}`, dealId: randomUUID(), commandId: randomUUID() }));
      const results = await Promise.all(keys.map((key, index) => store.claim('alice', key, claims[index]!)));
      expect(results).toEqual(claims.map((claim) => ({ claim, created: true })));
      expect(store.stats).toEqual({ flushes: 1, claims: 50 });
      await expect(store.claim('alice', keys[7]!, claims[0]!)).resolves.toEqual({ claim: claims[7], created: false });
      expect(store.stats).toEqual({ flushes: 2, claims: 51 });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers claims still queued when it closes, then refuses new ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idempotency-'));
    const store = EmbeddedIdempotencyStore.open(join(dir, 'idempotency.sqlite'));
    try {
      const claim = { requestHash: 'hash-a', dealId: randomUUID(), commandId: randomUUID() };
      const queued = store.claim('alice', randomUUID(), claim);
      await store.close();
      await expect(queued).resolves.toEqual({ claim, created: true });
      await expect(store.claim('alice', randomUUID(), claim)).rejects.toThrow('closed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('EmbeddedIdempotencyStore checkpoints', () => {
  it('copies claims into its file on a thread of its own, long before its log reaches 10,000 pages', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idempotency-'));
    const path = join(dir, 'idempotency.sqlite');
    const store = EmbeddedIdempotencyStore.open(path, { checkpointIntervalMs: 10 });
    try {
      const claim = { requestHash: 'hash', dealId: randomUUID(), commandId: randomUUID() };
      await Promise.all(Array.from({ length: 64 }, () => store.claim('alice', randomUUID(), claim)));
      await eventually(() => rowsCheckpointed(path, 'idempotency_claims') === 64, 'every claim copied into the file');
      expect(store.checkpointStats.lastError).toBeUndefined();
      await store.close();
      // The thread's connection closed before the store's own, which removed the log.
      expect(existsSync(`${path}-wal`)).toBe(false);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
