import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeReadModelStoreConformance } from '../testing/read-model-store-conformance';
import { EmbeddedReadModelStore } from './embedded-read-model-store';

describeReadModelStoreConformance('embedded', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'read-models-'));
  const store = EmbeddedReadModelStore.open(path.join(dir, 'read-models.sqlite'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
