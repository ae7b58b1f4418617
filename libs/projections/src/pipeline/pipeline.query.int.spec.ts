import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultRottingDays, defaultStageProbabilities } from '@deals/platform';
import { EmbeddedReadModelStore, type ReadModelStore } from '@deals/read-models';
import { pipelineProjection } from './pipeline.projection';
import { type PipelineRequest, type PipelineView, queryPipeline } from './pipeline.query';
import { commitProjection } from './testing/commit-projection';
import { InMemoryReadModelStore } from './testing/in-memory-read-model';
import { pipelineFixture, pipelineNow } from './testing/pipeline-fixture';

// The query against the real embedded store must give what the hand-computed unit tests pin on the
// in-memory model: same totals, same order, same cursors' pages, same rotting.

const settings = { stageProbabilities: defaultStageProbabilities, rottingDays: defaultRottingDays };
let directory: string;
let store: ReadModelStore;
const reference = new InMemoryReadModelStore();

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'pipeline-int-'));
  store = EmbeddedReadModelStore.open(join(directory, 'read-models.sqlite'));
  // Small batches, so that one deal's events span several commits.
  await commitProjection(store, pipelineProjection, pipelineFixture(), 3);
  reference.project(pipelineProjection, pipelineFixture());
});

afterAll(async () => {
  await store.close();
  rmSync(directory, { recursive: true, force: true });
});

const ask = (target: ReadModelStore, request: Partial<PipelineRequest> = {}): Promise<PipelineView> =>
  queryPipeline(target, settings, { limit: 50, ...request }, pipelineNow);

describe('pipeline query on the embedded read-model store', () => {
  it.each<[string, Partial<PipelineRequest>]>([
    ['no filter', {}],
    ['an owner', { owner: 'alice' }],
    ['a source', { source: 'referral' }],
    ['owner and source', { owner: 'alice', source: 'webinar' }],
    ['a closed stage', { stage: 'won' }],
    ['rotting only', { rotting: true }],
  ])('answers like the reference model for %s', async (_label, request) => {
    expect(await ask(store, request)).toEqual(await ask(reference, request));
  });

  it('totals are the hand-computed ones', async () => {
    const view = await ask(store);
    // 50 000 + 9 000 + 52 000 + 90 000; weighted 5 000 + 2 250 + 31 200 + 36 000
    expect(view.open).toEqual({ count: 6, totalValue: { EUR: 201_000, USD: 12_000 }, weightedValue: { EUR: 74_450, USD: 6_000 } });
    expect(view.deals.items.map((item) => item.dealId)).toEqual(['d6', 'd5', 'd3', 'd1', 'd2', 'd7']);
  });

  it('pages with its cursor across stages to the same deals in the same order', async () => {
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const view = await ask(store, { limit: 2, ...(cursor === undefined ? {} : { cursor }) });
      pages.push(view.deals.items.map((item) => item.dealId));
      cursor = view.deals.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(pages).toEqual([
      ['d6', 'd5'],
      ['d3', 'd1'],
      ['d2', 'd7'],
    ]);
  });

  it('projecting the same events again (a replay) leaves every answer as it was', async () => {
    const before = await ask(store);
    await commitProjection(store, pipelineProjection, pipelineFixture(), 5);
    expect(await ask(store)).toEqual(before);
  });
});
