import type { EventStore, RecordedEvent } from '@deals/event-store';
import type { ProjectionStatus } from '@deals/projections';
import { InMemoryReadModelStore } from '../../../../../libs/projections/src/pipeline/testing/in-memory-read-model';
import type { ProjectionStatusService } from '../../projections/projection-status.service';
import { VerifyAuditHandler } from './verify-audit.query';

describe('VerifyAuditHandler', () => {
  const status: ProjectionStatus = {
    projection: 'audit',
    position: '3/3',
    eventsProcessed: 3,
    lastRecordedAt: null,
    lagEvents: 0,
    lagMs: 0,
    caughtUp: true,
  };
  const projections = { status: async () => status } as unknown as ProjectionStatusService;

  async function readModels(): Promise<InMemoryReadModelStore> {
    const store = new InMemoryReadModelStore();
    await store.commit('audit', [], { position: { commit: 3n, prepare: 3n }, eventsProcessed: 3, lastRecordedAt: '' });
    return store;
  }

  /** An event store whose reads wait until released, counting how many were started. */
  function slowStore() {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const store = {
      reads: 0,
      async *readAll(): AsyncGenerator<RecordedEvent> {
        store.reads += 1;
        await gate;
      },
    };
    return { store, release: () => release() };
  }

  it('runs one check for requests that arrive while it runs, and a new one afterwards', async () => {
    const { store, release } = slowStore();
    const handler = new VerifyAuditHandler(store as unknown as EventStore, await readModels(), projections);

    const first = handler.execute();
    const second = handler.execute();
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const answers = await Promise.all([first, second]);

    expect(store.reads).toBe(1);
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toMatchObject({ ok: true, checkedEvents: 0, checkedUpTo: '3/3', projection: { position: '3/3', caughtUp: true } });
    await handler.execute();
    expect(store.reads).toBe(2);
  });
});
