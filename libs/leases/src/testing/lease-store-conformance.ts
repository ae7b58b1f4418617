import { randomUUID } from 'node:crypto';
import type { LeaseStore } from '../lease-store.port';

export interface LeaseStoreHarness {
  /** A fresh store; `other()` opens a second client of the same store, as another process would. */
  open(): Promise<{ readonly store: LeaseStore; readonly other: () => Promise<LeaseStore> }>;
}

/** What every LeaseStore adapter does; each adapter's spec runs it against the real thing. */
export function leaseStoreConformance(harness: LeaseStoreHarness): void {
  let store: LeaseStore;
  let other: LeaseStore;
  let name: string;

  beforeEach(async () => {
    const opened = await harness.open();
    store = opened.store;
    other = await opened.other();
    name = `lease-${randomUUID()}`;
  });

  afterEach(async () => {
    await other.close();
    await store.close();
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('gives a free lease to the first owner, not to a second one, and says who holds it', async () => {
    expect(await store.holder(name)).toBeUndefined();
    expect(await store.acquire(name, 'a', 60_000)).toBe(true);
    expect(await other.acquire(name, 'b', 60_000)).toBe(false);
    expect(await other.holder(name)).toBe('a');
  });

  it('gives the lease to one of many owners competing for it at once', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? store : other).acquire(name, `owner-${i}`, 60_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.holder(name)).toBe(`owner-${results.indexOf(true)}`);
  });

  it('lets the holder acquire again and renew, and nobody else renew', async () => {
    expect(await store.acquire(name, 'a', 60_000)).toBe(true);
    expect(await store.acquire(name, 'a', 60_000)).toBe(true);
    expect(await store.renew(name, 'a', 60_000)).toBe(true);
    expect(await other.renew(name, 'b', 60_000)).toBe(false);
    expect(await store.holder(name)).toBe('a');
  });

  it('lets another owner take the lease once it expired, and the former holder no longer renew', async () => {
    expect(await store.acquire(name, 'a', 100)).toBe(true);
    expect(await other.acquire(name, 'b', 60_000)).toBe(false);
    await sleep(250);
    expect(await store.holder(name)).toBeUndefined();
    expect(await other.acquire(name, 'b', 60_000)).toBe(true);
    expect(await store.renew(name, 'a', 60_000)).toBe(false);
    expect(await store.holder(name)).toBe('b');
  });

  it('keeps a renewed lease past its first TTL', async () => {
    expect(await store.acquire(name, 'a', 300)).toBe(true);
    await sleep(150);
    expect(await store.renew(name, 'a', 60_000)).toBe(true);
    await sleep(300);
    expect(await other.acquire(name, 'b', 60_000)).toBe(false);
  });

  it('releases only for its holder, and a released lease is free at once', async () => {
    expect(await store.acquire(name, 'a', 60_000)).toBe(true);
    expect(await other.release(name, 'b')).toBe(false);
    expect(await store.holder(name)).toBe('a');
    expect(await store.release(name, 'a')).toBe(true);
    expect(await store.holder(name)).toBeUndefined();
    expect(await other.acquire(name, 'b', 60_000)).toBe(true);
    expect(await store.release(name, 'a')).toBe(false);
  });

  it('keeps leases of different names apart', async () => {
    expect(await store.acquire(name, 'a', 60_000)).toBe(true);
    expect(await other.acquire(`${name}-2`, 'b', 60_000)).toBe(true);
  });

  it('refuses a malformed name or TTL', async () => {
    await expect(store.acquire('bad name', 'a', 1_000)).rejects.toThrow(RangeError);
    await expect(store.acquire(name, 'a', 0)).rejects.toThrow(RangeError);
    await expect(store.renew(name, '', 1_000)).rejects.toThrow(RangeError);
  });
}
