import type { StoredDealEvent } from '@deals/deal-streams';
import type { Stage } from '@deals/domain';
import { defaultRottingDays, defaultStageProbabilities, seededRandom } from '@deals/platform';
import type { IndexEntry, RangeOptions } from '@deals/read-models';
import { dayMs } from '../analytics/cycle-metrics';
import { randomDeals, randomDealsStart } from '../analytics/testing/random-deals';
import { PipelineMemo } from './pipeline-memo';
import { pipelineProjection, pipelineProjectionName } from './pipeline.projection';
import { type PipelineRequest, type PipelineSettings, queryPipeline } from './pipeline.query';
import { at, eur, leadCaptured } from './testing/deal-events';
import { dealStream, InMemoryReadModelStore } from './testing/in-memory-read-model';
import { pipelineFixture, pipelineNow } from './testing/pipeline-fixture';

/** A read model that counts the reads a question makes, and can commit in the middle of one. */
class CountingStore extends InMemoryReadModelStore {
  reads = 0;
  /** Runs once, as the next totals are read: a commit landing while a view is computed. */
  duringNextRead: (() => Promise<void>) | undefined;
  commits = 0;

  override async counters(counter: string, fields?: readonly string[]): Promise<Readonly<Record<string, number>>> {
    this.reads++;
    const during = this.duringNextRead;
    this.duringNextRead = undefined;
    await during?.();
    return super.counters(counter, fields);
  }

  override async range(index: string, options: RangeOptions): Promise<IndexEntry[]> {
    this.reads++;
    return super.range(index, options);
  }

  /** Projects the events and moves the checkpoint on, as a commit of the runner would. */
  async commitEvents(events: readonly StoredDealEvent[]): Promise<void> {
    this.project(pipelineProjection, events);
    this.commits++;
    const position = { commit: BigInt(this.commits), prepare: BigInt(this.commits) };
    await this.commit(pipelineProjectionName, [], { position, eventsProcessed: this.commits, lastRecordedAt: events.at(-1)!.metadata.recordedAt });
  }
}

const settings: PipelineSettings = { stageProbabilities: defaultStageProbabilities, rottingDays: defaultRottingDays };
const everything: PipelineRequest = { limit: 50 };
/** d5 of the fixture: in lead since 06-20 09:00, so rotting once 14 days and a millisecond have passed. */
const d5Rots = new Date(Date.parse(at(6, 20)) + 14 * dayMs + 1);
const d9 = dealStream('d9', [leadCaptured(at(6, 30), { dealId: 'd9', owner: 'bob', source: 'webinar', estimatedValue: eur(7_000) })]);

async function given(events: readonly StoredDealEvent[]): Promise<CountingStore> {
  const store = new CountingStore();
  await store.commitEvents(events);
  return store;
}

/** The view read from the store, with nothing remembered. */
const fresh = (store: CountingStore, request: PipelineRequest, now: Date) => queryPipeline(store, settings, request, now);
const leadRotting = (view: Awaited<ReturnType<typeof fresh>>) => view.stages.find((stage) => stage.stage === 'lead')?.rotting?.count;

describe('pipeline memo', () => {
  it('given an unchanged read model, when the same view is asked a moment later, then it is answered without reading the store, judged at the new instant', async () => {
    const store = await given(pipelineFixture());
    const memo = new PipelineMemo();
    await queryPipeline(store, settings, everything, pipelineNow, memo);
    const reads = store.reads;
    const later = new Date(pipelineNow.getTime() + 60_000);

    const again = await queryPipeline(store, settings, everything, later, memo);

    expect(store.reads).toBe(reads);
    expect(again.now).toBe(later.toISOString());
    expect(again).toEqual(await fresh(store, everything, later));
  });

  it('given a commit since, when the view is asked again, then it is read again and shows the change', async () => {
    const store = await given(pipelineFixture());
    const memo = new PipelineMemo();
    const before = await queryPipeline(store, settings, everything, pipelineNow, memo);
    await store.commitEvents(d9);
    const reads = store.reads;

    const again = await queryPipeline(store, settings, everything, pipelineNow, memo);

    expect(store.reads).toBeGreaterThan(reads);
    expect(again.open.count).toBe(before.open.count + 1);
    expect(again).toEqual(await fresh(store, everything, pipelineNow));
  });

  it('given a deal about to rot, when asked a millisecond before it does, then the view is remembered; when asked as it does, then it is read again with the deal rotting', async () => {
    const store = await given(pipelineFixture());
    const memo = new PipelineMemo();
    const first = await queryPipeline(store, settings, everything, pipelineNow, memo);
    const reads = store.reads;

    const justBefore = await queryPipeline(store, settings, everything, new Date(d5Rots.getTime() - 1), memo);
    expect(store.reads).toBe(reads);
    expect(justBefore).toEqual(await fresh(store, everything, new Date(d5Rots.getTime() - 1)));
    const readsBefore = store.reads;

    const rotted = await queryPipeline(store, settings, everything, d5Rots, memo);
    expect(store.reads).toBeGreaterThan(readsBefore);
    expect(leadRotting(rotted)).toBe(leadRotting(first)! + 1);
    expect(rotted).toEqual(await fresh(store, everything, d5Rots));
  });

  it('given a view judged at an instant, when asked about an earlier one (a clock set back), then it is read again', async () => {
    const store = await given(pipelineFixture());
    const memo = new PipelineMemo();
    await queryPipeline(store, settings, everything, d5Rots, memo);
    const earlier = new Date(d5Rots.getTime() - 1);

    const again = await queryPipeline(store, settings, everything, earlier, memo);

    expect(again).toEqual(await fresh(store, everything, earlier));
  });

  it('given a commit landing while a view is read, when it is asked again, then the torn view was not kept', async () => {
    const store = await given(pipelineFixture());
    const memo = new PipelineMemo();
    store.duringNextRead = () => store.commitEvents(d9);
    await queryPipeline(store, settings, everything, pipelineNow, memo);
    const reads = store.reads;

    const again = await queryPipeline(store, settings, everything, pipelineNow, memo);

    expect(store.reads).toBeGreaterThan(reads);
    expect(again).toEqual(await fresh(store, everything, pipelineNow));
  });

  it('given a view read while a commit landed, when a rebuild brings the read model back to the checkpoint it was read at, then the view is read again, not the torn one', async () => {
    const store = await given(pipelineFixture());
    const memo = new PipelineMemo();
    store.duringNextRead = () => store.commitEvents(d9);
    await queryPipeline(store, settings, everything, pipelineNow, memo);
    await store.reset(pipelineProjectionName);
    store.commits = 0;
    await store.commitEvents(pipelineFixture());

    const again = await queryPipeline(store, settings, everything, pipelineNow, memo);

    expect(again).toEqual(await fresh(store, everything, pipelineNow));
  });

  it('given random deals, commits and instants, when views are asked with the memo and without, then they are the same', async () => {
    const events = randomDeals(80, 17).sort((a, b) => a.metadata.occurredAt.localeCompare(b.metadata.occurredAt));
    const next = seededRandom(29);
    const pick = <T>(choices: readonly T[]): T => choices[Math.floor(next() * choices.length)]!;
    const store = new CountingStore();
    const memo = new PipelineMemo();
    let committed = 0;
    let now = randomDealsStart;
    let remembered = 0;
    for (let step = 0; step < 1_000; step++) {
      if (committed < events.length && next() < 0.05) {
        const upTo = Math.min(events.length, committed + 1 + Math.floor(next() * 40));
        await store.commitEvents(events.slice(committed, upTo));
        committed = upTo;
        // The clock runs a little ahead of the latest event, as it does beside a live projection.
        now = Math.max(now, Date.parse(events[upTo - 1]!.metadata.occurredAt));
        continue;
      }
      // Mostly hours on, as a dashboard polls; now and then days on, or a clock set back.
      const roll = next();
      now += Math.floor(next() * (roll < 0.85 ? 12 * 3_600_000 : roll < 0.95 ? 10 * dayMs : -10 * dayMs));
      const request: PipelineRequest = {
        owner: pick([undefined, 'ann']),
        source: pick([undefined, 'web']),
        stage: pick<Stage | undefined>([undefined, 'lead', 'negotiation', 'won']),
        rotting: pick([false, true]),
        limit: pick([3, 50]),
      };
      const reads = store.reads;
      const answer = await queryPipeline(store, settings, request, new Date(now), memo);
      if (store.reads === reads) remembered++;
      expect(answer).toEqual(await fresh(store, request, new Date(now)));
    }
    expect(committed).toBe(events.length);
    expect(remembered).toBeGreaterThan(50);
  });
});
