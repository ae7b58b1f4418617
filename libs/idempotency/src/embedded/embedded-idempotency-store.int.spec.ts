import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIdempotencyStoreConformance } from '../testing/idempotency-store-conformance';
import { EmbeddedIdempotencyStore } from './embedded-idempotency-store';

describeIdempotencyStoreConformance('embedded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'idempotency-'));
  let now = Date.now();
  const store = EmbeddedIdempotencyStore.open(join(dir, 'idempotency.sqlite'), () => now);
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
