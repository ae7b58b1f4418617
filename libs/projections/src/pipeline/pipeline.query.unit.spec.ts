import { defaultRottingDays, defaultStageProbabilities } from '@deals/platform';
import { pipelineProjection } from './pipeline.projection';
import { encodeCursor, InvalidCursorError, type PipelineRequest, type PipelineSettings, queryPipeline } from './pipeline.query';
import { at, eur, leadCaptured, qualified } from './testing/deal-events';
import { dealStream, InMemoryReadModelStore } from './testing/in-memory-read-model';
import { pipelineFixture, pipelineNow } from './testing/pipeline-fixture';

// Hand-computed expectations over the fixture in testing/pipeline-fixture.ts (the table there).
// Default probabilities: lead 0.1, qualified 0.25, proposal 0.5, negotiation 0.7, won 1, lost 0.

const settings: PipelineSettings = { stageProbabilities: defaultStageProbabilities, rottingDays: defaultRottingDays };

function storeWithFixture(): InMemoryReadModelStore {
  const store = new InMemoryReadModelStore();
  store.project(pipelineProjection, pipelineFixture());
  return store;
}

const ask = (store: InMemoryReadModelStore, request: Partial<PipelineRequest> = {}, options: { settings?: PipelineSettings; now?: Date } = {}) =>
  queryPipeline(store, options.settings ?? settings, { limit: 50, ...request }, options.now ?? pipelineNow);

const ids = (view: Awaited<ReturnType<typeof ask>>) => view.deals.items.map((item) => item.dealId);

describe('pipeline query', () => {
  it('totals per stage: count, total value and weighted value per currency, own probabilities overriding the stage’s', async () => {
    const view = await ask(storeWithFixture());
    expect(view.stages).toEqual([
      // d5 20 000 + d6 30 000 = 50 000; × 0.1 = 5 000
      { stage: 'lead', count: 2, totalValue: { EUR: 50_000 }, weightedValue: { EUR: 5_000 }, probability: 0.1, rotting: { limitDays: 14, count: 1 } },
      // d3 9 000 × 0.25 = 2 250
      { stage: 'qualified', count: 1, totalValue: { EUR: 9_000 }, weightedValue: { EUR: 2_250 }, probability: 0.25, rotting: { limitDays: 21, count: 1 } },
      // EUR: d1 52 000 × own 60 % = 31 200; USD: d2 12 000 × 0.5 = 6 000
      {
        stage: 'proposal',
        count: 2,
        totalValue: { EUR: 52_000, USD: 12_000 },
        weightedValue: { EUR: 31_200, USD: 6_000 },
        probability: 0.5,
        rotting: { limitDays: 30, count: 0 },
      },
      // d7 90 000 × own 40 % = 36 000
      { stage: 'negotiation', count: 1, totalValue: { EUR: 90_000 }, weightedValue: { EUR: 36_000 }, probability: 0.7, rotting: { limitDays: 21, count: 1 } },
      // d8 won: its own 70 % no longer applies, won counts at 1
      { stage: 'won', count: 1, totalValue: { EUR: 18_000 }, weightedValue: { EUR: 18_000 }, probability: 1, rotting: null },
      { stage: 'lost', count: 1, totalValue: { EUR: 5_000 }, weightedValue: { EUR: 0 }, probability: 0, rotting: null },
    ]);
    // 50 000 + 9 000 + 52 000 + 90 000 = 201 000; 5 000 + 2 250 + 31 200 + 36 000 = 74 450
    expect(view.open).toEqual({ count: 6, totalValue: { EUR: 201_000, USD: 12_000 }, weightedValue: { EUR: 74_450, USD: 6_000 } });
  });

  it('stage probabilities are applied at query time, so changing them needs no rebuild', async () => {
    const view = await ask(storeWithFixture(), { stage: 'proposal' }, { settings: { ...settings, stageProbabilities: { ...defaultStageProbabilities, proposal: 0.2 } } });
    // EUR stays d1's own 31 200; USD 12 000 × 0.2 = 2 400
    expect(view.stages).toEqual([expect.objectContaining({ stage: 'proposal', weightedValue: { EUR: 31_200, USD: 2_400 }, probability: 0.2 })]);
  });

  it('owner filter totals come from the owner’s own counters', async () => {
    const view = await ask(storeWithFixture(), { owner: 'alice' });
    expect(view.stages.map(({ stage, count, totalValue, weightedValue }) => ({ stage, count, totalValue, weightedValue }))).toEqual([
      { stage: 'lead', count: 1, totalValue: { EUR: 30_000 }, weightedValue: { EUR: 3_000 } },
      { stage: 'qualified', count: 1, totalValue: { EUR: 9_000 }, weightedValue: { EUR: 2_250 } },
      { stage: 'proposal', count: 1, totalValue: { EUR: 52_000 }, weightedValue: { EUR: 31_200 } },
      { stage: 'negotiation', count: 0, totalValue: {}, weightedValue: {} },
      { stage: 'won', count: 1, totalValue: { EUR: 18_000 }, weightedValue: { EUR: 18_000 } },
      { stage: 'lost', count: 1, totalValue: { EUR: 5_000 }, weightedValue: { EUR: 0 } },
    ]);
    expect(ids(view)).toEqual(['d6', 'd3', 'd1']);
  });

  it('owner and source together narrow totals and the list to deals matching both', async () => {
    const view = await ask(storeWithFixture(), { owner: 'alice', source: 'webinar' });
    expect(view.open).toEqual({ count: 2, totalValue: { EUR: 82_000 }, weightedValue: { EUR: 34_200 } }); // d6 30 000 (3 000) + d1 52 000 (31 200)
    expect(ids(view)).toEqual(['d6', 'd1']);
  });

  it('owner and source together: rotting counts, a stage filter and pages come from the same walk', async () => {
    const store = storeWithFixture();
    const view = await ask(store, { owner: 'alice', source: 'webinar' });
    expect(view.stages.map((stage) => [stage.stage, stage.count, stage.rotting?.count ?? null])).toEqual([
      ['lead', 1, 1], // d6, idle 42 days
      ['qualified', 0, 0],
      ['proposal', 1, 0], // d1
      ['negotiation', 0, 0],
      ['won', 0, null],
      ['lost', 1, null], // d4
    ]);
    expect(ids(await ask(store, { owner: 'alice', source: 'webinar', rotting: true }))).toEqual(['d6']);
    expect(ids(await ask(store, { owner: 'alice', source: 'webinar', stage: 'lost' }))).toEqual(['d4']);
    const first = await ask(store, { owner: 'alice', source: 'webinar', limit: 1 });
    expect(ids(first)).toEqual(['d6']);
    const second = await ask(store, { owner: 'alice', source: 'webinar', limit: 1, cursor: first.deals.nextCursor! });
    expect(ids(second)).toEqual(['d1']);
    expect(second.deals.nextCursor).toBeNull();
    await expect(ask(store, { owner: 'alice', source: 'referral', limit: 1, cursor: first.deals.nextCursor! })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('owner and source together answer from the pair’s own totals and index, reading only the deals listed', async () => {
    const store = storeWithFixture();
    const getMany = jest.spyOn(store, 'getMany');
    const view = await ask(store, { owner: 'alice', source: 'referral' });
    expect(getMany.mock.calls.map(([, ids]) => ids)).toEqual([['d3']]);
    expect(ids(view)).toEqual(['d3']);
    expect(view.stages.find((stage) => stage.stage === 'won')).toEqual(expect.objectContaining({ count: 1, totalValue: { EUR: 18_000 } })); // d8
  });

  describe('given a read model built before owner-and-source pairs had totals', () => {
    const pair = 'pipeline:totals:owner:alice:source:webinar';
    /** The pair's totals taken back to nothing, as a read model of the earlier shape had them. */
    function withoutPairTotals(): InMemoryReadModelStore {
      const store = storeWithFixture();
      store.apply(Object.entries(store.settledCounters(pair)[pair] ?? {}).map(([field, value]) => ({ kind: 'increment', counter: pair, field, by: -value })));
      return store;
    }
    const questions: Array<Partial<PipelineRequest>> = [
      { owner: 'alice', source: 'webinar' },
      { owner: 'alice', source: 'webinar', rotting: true },
      { owner: 'alice', source: 'webinar', stage: 'lost' },
      { owner: 'alice', source: 'webinar', limit: 1 },
    ];

    it('when the pair is asked for, then its deals are added up from its index, with the figures its totals would give', async () => {
      const store = withoutPairTotals();
      const range = jest.spyOn(store, 'range');
      for (const question of questions) expect(await ask(store, question)).toEqual(await ask(storeWithFixture(), question));
      expect(new Set(range.mock.calls.map(([index]) => index))).toEqual(new Set(['pipeline:activity:owner:alice:source:webinar']));
      range.mockClear();
      await ask(store, { owner: 'alice', source: 'webinar', stage: 'won' });
      expect(range.mock.calls[0]?.[1]).toEqual(expect.objectContaining({ min: 4e14, max: 5e14 - 1 }));
    });

    it('when its projection has moved a deal of the pair since, then the partial totals are still not trusted', async () => {
      const store = withoutPairTotals();
      const fresh = storeWithFixture();
      const moved = dealStream('d6', [...pipelineFixture().filter((event) => event.dealId === 'd6').map((event) => event.event), qualified(at(6, 1))]);
      for (const target of [store, fresh]) target.project(pipelineProjection, moved.slice(-1));
      for (const question of questions) expect(await ask(store, question)).toEqual(await ask(fresh, question));
    });
  });

  it('source filter alone', async () => {
    const view = await ask(storeWithFixture(), { source: 'referral' });
    expect(view.open).toEqual({ count: 2, totalValue: { EUR: 29_000 }, weightedValue: { EUR: 4_250 } }); // d5 20 000 (2 000) + d3 9 000 (2 250)
    expect(ids(view)).toEqual(['d5', 'd3']);
  });

  it('lists open deals by stage, least recent activity first, each with its weight and rotting flag', async () => {
    const view = await ask(storeWithFixture());
    expect(ids(view)).toEqual(['d6', 'd5', 'd3', 'd1', 'd2', 'd7']);
    expect(view.deals.items[0]).toEqual({
      dealId: 'd6',
      title: 'Fleet telematics rollout',
      organization: 'Acme Logistics',
      owner: 'alice',
      source: 'webinar',
      stage: 'lead',
      value: eur(30_000),
      winProbability: null,
      probability: 0.1,
      weightedValue: 3_000,
      capturedAt: at(5, 20),
      lastActivityAt: at(5, 20),
      rotting: true,
    });
    expect(view.deals.items.map((item) => [item.dealId, item.rotting])).toEqual([
      ['d6', true],
      ['d5', false],
      ['d3', true],
      ['d1', false],
      ['d2', false],
      ['d7', true],
    ]);
    expect(view.deals.items.find((item) => item.dealId === 'd7')).toEqual(expect.objectContaining({ winProbability: 40, probability: 0.4, weightedValue: 36_000 }));
    expect(view.deals.nextCursor).toBeNull();
  });

  it('closed deals are listed only when their stage is asked for, and never rot', async () => {
    const store = storeWithFixture();
    const wonView = await ask(store, { stage: 'won' });
    expect(wonView.deals.items).toEqual([expect.objectContaining({ dealId: 'd8', stage: 'won', probability: 1, weightedValue: 18_000, rotting: false })]);
    expect(ids(await ask(store, { stage: 'lost', rotting: true }))).toEqual([]);
  });

  it('rotting=true lists only deals idle for longer than their stage’s limit, with no scan', async () => {
    expect(ids(await ask(storeWithFixture(), { rotting: true }))).toEqual(['d6', 'd3', 'd7']);
  });

  it('rotting limits are configurable per stage', async () => {
    const view = await ask(storeWithFixture(), { rotting: true }, { settings: { ...settings, rottingDays: { ...defaultRottingDays, lead: 60 } } });
    expect(ids(view)).toEqual(['d3', 'd7']);
    expect(view.stages[0]).toEqual(expect.objectContaining({ stage: 'lead', rotting: { limitDays: 60, count: 0 } }));
  });

  it('a deal idle for exactly the limit is not rotting yet; one millisecond more and it is', async () => {
    const store = new InMemoryReadModelStore();
    store.project(pipelineProjection, dealStream('x', [leadCaptured(at(6, 1), { dealId: 'x' })]));
    const exactly = new Date(Date.parse(at(6, 1)) + 14 * 86_400_000);
    expect((await ask(store, {}, { now: exactly })).deals.items[0]?.rotting).toBe(false);
    expect((await ask(store, {}, { now: new Date(exactly.getTime() + 1) })).deals.items[0]?.rotting).toBe(true);
    expect((await ask(store, { rotting: true }, { now: exactly })).deals.items).toEqual([]);
  });

  describe('given a stage with more deals than a count takes at first', () => {
    // Leads captured 60 days before now rot (limit 14 days); leads captured a day before do not.
    const now = new Date(Date.UTC(2025, 6, 1));
    const storeWith = (rotting: number, fresh: number) => {
      const store = new InMemoryReadModelStore();
      const captured = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();
      for (let n = 0; n < rotting + fresh; n++) {
        const id = `deal-${n}`;
        store.project(pipelineProjection, dealStream(id, [leadCaptured(captured(n < rotting ? 60 : 1), { dealId: id })], { firstPosition: n + 1 }));
      }
      const limits: Array<number | undefined> = [];
      const count = store.count.bind(store);
      jest.spyOn(store, 'count').mockImplementation((index, min, max, limit) => {
        limits.push(limit);
        return count(index, min, max, limit);
      });
      return { store, limits };
    };
    const leadRotting = async (store: InMemoryReadModelStore) => (await ask(store, { stage: 'lead' }, { now })).stages[0]?.rotting?.count;

    it('when nearly all of them rot, then the count is exact and only the fresh side is counted through', async () => {
      const { store, limits } = storeWith(600, 3);
      expect(await leadRotting(store)).toBe(600);
      expect(limits).toEqual([256, 256]);
    });

    it('when few of them rot, then the count is exact and the rotting side is all that is counted', async () => {
      const { store, limits } = storeWith(3, 600);
      expect(await leadRotting(store)).toBe(3);
      expect(limits).toEqual([256]);
    });

    it('when both sides outgrow the first limit, then a larger one counts the smaller side exactly', async () => {
      const { store, limits } = storeWith(500, 300);
      expect(await leadRotting(store)).toBe(500);
      expect(limits).toEqual([256, 256, 4_096]);
    });
  });

  it('pages through stages with an opaque cursor until the last page, which has no cursor', async () => {
    const store = storeWithFixture();
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const view = await ask(store, { limit: 2, ...(cursor === undefined ? {} : { cursor }) });
      pages.push(ids(view));
      cursor = view.deals.nextCursor ?? undefined;
      if (cursor !== undefined) expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    } while (cursor !== undefined);
    expect(pages).toEqual([
      ['d6', 'd5'],
      ['d3', 'd1'],
      ['d2', 'd7'],
    ]);
  });

  it('a page resumes strictly after the last deal of the previous one', async () => {
    const store = storeWithFixture();
    const first = await ask(store, { limit: 1, stage: 'lead' });
    expect(ids(first)).toEqual(['d6']);
    const second = await ask(store, { limit: 5, stage: 'lead', cursor: first.deals.nextCursor! });
    expect(ids(second)).toEqual(['d5']);
  });

  it('refuses a cursor it did not issue, and one issued for other filters', async () => {
    const store = storeWithFixture();
    await expect(ask(store, { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(ask(store, { cursor: encodeCursor({ f: 'x', s: 1, m: 'd1' }) })).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(ask(store, { cursor: Buffer.from('{"f":"x","s":9e15,"m":"d"}').toString('base64url') })).rejects.toBeInstanceOf(InvalidCursorError);
    const page = await ask(store, { limit: 1 });
    await expect(ask(store, { limit: 1, owner: 'bob', cursor: page.deals.nextCursor! })).rejects.toThrow(/other filters/);
  });

  it('an unknown owner has empty totals and an empty list', async () => {
    const view = await ask(storeWithFixture(), { owner: 'nobody' });
    expect(view.open).toEqual({ count: 0, totalValue: {}, weightedValue: {} });
    expect(view.deals).toEqual({ items: [], nextCursor: null });
  });
});
