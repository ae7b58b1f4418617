import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EmbeddedReadModelStore } from '@deals/read-models';
import { EmbeddedLeaseStore } from './embedded/embedded-lease-store';
import { FencedReadModelStore } from './fenced-read-model-store';
import { LeaderElection, type LeaderTask, LeaseNotHeldError } from './leader-election';

const checkpoint = { position: { commit: 1n, prepare: 1n }, eventsProcessed: 1, lastRecordedAt: '2025-01-01T00:00:00.000Z' };

let dir: string;
let cleanups: Array<() => Promise<void>>;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leader-election-'));
  cleanups = [];
});

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

function leases(): EmbeddedLeaseStore {
  const store = EmbeddedLeaseStore.open(path.join(dir, 'leases.sqlite'));
  cleanups.push(() => store.close());
  return store;
}

/** Records what the election asks of it. */
function recordingTask(): LeaderTask & { readonly calls: string[] } {
  const calls: string[] = [];
  return { calls, start: () => void calls.push('start'), stop: async () => void calls.push('stop') };
}

function election(task: LeaderTask, options: { owner: string; now?: () => number }): LeaderElection {
  const created = new LeaderElection(leases(), task, { name: 'work', ttlMs: 60_000, log: () => {}, ...options });
  cleanups.push(() => created.stop());
  return created;
}

describe('LeaderElection', () => {
  it('runs the task in one process of two; the other stands by and takes over once the leader stops', async () => {
    const first = recordingTask();
    const second = recordingTask();
    const a = election(first, { owner: 'a' });
    const b = election(second, { owner: 'b' });
    await a.start();
    await b.start();
    expect([a.role, b.role]).toEqual(['leader', 'standby']);
    expect(first.calls).toEqual(['start']);
    expect(second.calls).toEqual([]);

    await a.stop();
    expect(first.calls).toEqual(['start', 'stop']);
    expect(await leases().holder('work')).toBeUndefined();
    await b.start();
    expect(b.role).toBe('leader');
    expect(second.calls).toEqual(['start']);
  });

  it('fences writes: a standby never commits, a leader commits, and stops committing once less than the margin is left', async () => {
    let clock = 0;
    const store = EmbeddedReadModelStore.open(path.join(dir, 'read-models.sqlite'));
    cleanups.push(() => store.close());
    const a = election(recordingTask(), { owner: 'a', now: () => clock });
    const b = election(recordingTask(), { owner: 'b' });
    await a.start();
    await b.start();
    const asLeader = new FencedReadModelStore(store, a);
    const asStandby = new FencedReadModelStore(store, b);

    await expect(asStandby.commit('work', [], checkpoint)).rejects.toThrow(LeaseNotHeldError);
    await expect(asStandby.reset('work')).rejects.toThrow(LeaseNotHeldError);
    expect(await store.checkpoint('work')).toBeUndefined();

    await asLeader.commit('work', [], checkpoint);
    expect(await asStandby.checkpoint('work')).toEqual(checkpoint);

    // The leader's process stalls: by its own clock the lease is about to run out (ttl 60 s, margin 20 s).
    clock = 40_001;
    expect(a.status()).toMatchObject({ role: 'leader', remainingMs: 19_999 });
    await expect(asLeader.commit('work', [], { ...checkpoint, eventsProcessed: 2 })).rejects.toThrow(LeaseNotHeldError);
    expect((await store.checkpoint('work'))?.eventsProcessed).toBe(1);
  });

  it('stops the task of a leader whose lease another owner took, and fences its writes', async () => {
    const task = recordingTask();
    const a = election(task, { owner: 'a' });
    await a.start();
    // Another process found the lease expired (as after a long pause) and took it.
    const other = leases();
    await other.release('work', 'a');
    expect(await other.acquire('work', 'b', 60_000)).toBe(true);
    await (a as unknown as { tick(): Promise<void> }).tick();
    expect(a.role).toBe('standby');
    expect(task.calls).toEqual(['start', 'stop']);
    expect(() => a.assertHeld()).toThrow(LeaseNotHeldError);
  });

  it('after refusing a write for want of margin, ends the term and starts a new one from the checkpoint once the lease is renewed', async () => {
    let clock = 0;
    const task = recordingTask();
    const a = election(task, { owner: 'a', now: () => clock });
    const tick = () => (a as unknown as { tick(): Promise<void> }).tick();
    await a.start();
    // A stall (a long synchronous step, a GC pause) held back the renewal.
    clock = 45_000;
    expect(() => a.assertHeld()).toThrow(LeaseNotHeldError);
    await tick();
    expect([a.role, task.calls]).toEqual(['standby', ['start', 'stop']]);
    await tick();
    expect([a.role, task.calls]).toEqual(['leader', ['start', 'stop', 'start']]);
    expect(() => a.assertHeld()).not.toThrow();
  });

  it('refuses timings that leave no room for renewal before the margin', () => {
    expect(() => new LeaderElection(leases(), recordingTask(), { name: 'work', ttlMs: 1_000, renewEveryMs: 600, marginMs: 500 })).toThrow(RangeError);
  });
});
