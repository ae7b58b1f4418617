import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { leaseStoreConformance } from '../testing/lease-store-conformance';
import { EmbeddedLeaseStore } from './embedded-lease-store';

describe('EmbeddedLeaseStore', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  leaseStoreConformance({
    async open() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leases-'));
      dirs.push(dir);
      const file = path.join(dir, 'leases.sqlite');
      return { store: EmbeddedLeaseStore.open(file), other: async () => EmbeddedLeaseStore.open(file) };
    },
  });
});
