import type { StoredDealEvent } from '@deals/deal-streams';
import type { DealEvent } from '@deals/domain';
import type { ReadModelChange } from '@deals/read-models';
import { activityIndex, pipelineDealCollection, pipelineProjection, stageBand, totalsCounter } from './pipeline.projection';
import { at, eur, followedUp, leadCaptured, lost, negotiated, proposalSent, qualified, usd, won } from './testing/deal-events';
import { dealStream, InMemoryReadModelStore } from './testing/in-memory-read-model';

/** Given the events already projected, when the next event arrives, then exactly these changes. */
function given(history: readonly DealEvent[], dealId = 'd1') {
  const store = new InMemoryReadModelStore();
  const stream = dealStream(dealId, history);
  store.project(pipelineProjection, stream);
  return {
    store,
    when(event: DealEvent) {
      const [stored] = dealStream(dealId, [...history, event]).slice(history.length) as [StoredDealEvent];
      const changes = pipelineProjection.project(stored, { get: (collection, id) => store.getSync(collection, id) });
      store.apply(changes);
      return {
        then(expected: readonly ReadModelChange[]): void {
          expect(changes).toEqual(expected);
        },
        store,
      };
    },
  };
}

const all = {};
const alice = { owner: 'alice' };
const webinar = { source: 'webinar' };
const both = { owner: 'alice', source: 'webinar' };
/** Totals and the activity index are kept for all deals, per owner, per source and per owner-and-source pair. */
const scopes = [all, alice, webinar, both];

const capture = leadCaptured(at(6, 1), { dealId: 'd1', estimatedValue: eur(40_000) });

/** Activity score: the stage's band (lead 0, qualified 1, proposal 2, negotiation 3, won 4, lost 5) plus epoch ms. */
const score = (band: number, time: string) => band * stageBand + Date.parse(time);

/** The same counter deltas in each of the deal's scopes, each followed by its re-scored index entry. */
function inEveryScope(deltas: ReadonlyArray<[string, number]>, newScore?: number): ReadModelChange[] {
  const rescored = (scope: object): ReadModelChange[] =>
    newScore === undefined ? [] : [{ kind: 'index', index: activityIndex(scope), member: 'd1', score: newScore }];
  return [
    ...scopes.flatMap((scope) => [
      ...deltas.map(([field, by]): ReadModelChange => ({ kind: 'increment', counter: totalsCounter(scope), field, by })),
      ...rescored(scope),
    ]),
  ];
}

describe('pipeline projection', () => {
  it('reads only the deal’s own document', () => {
    const [stored] = dealStream('d1', [capture]);
    expect(pipelineProjection.reads(stored!)).toEqual([{ collection: 'pipeline:deal', id: 'd1' }]);
  });

  it('a captured lead is stored, counted in lead and indexed by activity for all deals, its owner, its source and the pair of both', () => {
    given([]).when(capture).then([
      {
        kind: 'put',
        collection: pipelineDealCollection,
        id: 'd1',
        document: {
          dealId: 'd1',
          title: 'Fleet telematics rollout',
          organization: 'Acme Logistics',
          owner: 'alice',
          source: 'webinar',
          stage: 'lead',
          value: eur(40_000),
          winProbability: null,
          capturedAt: at(6, 1),
          lastActivityAt: at(6, 1),
          revision: 0,
        },
      },
      ...inEveryScope(
        [
          ['n:lead:EUR', 1],
          ['amount:lead:EUR', 40_000],
        ],
        score(0, at(6, 1)),
      ),
    ]);
  });

  it('qualification moves the deal’s count and value from lead to qualified, and re-scores it into the qualified band', () => {
    given([capture])
      .when(qualified(at(6, 3)))
      .then([
        expect.objectContaining({ kind: 'put', document: expect.objectContaining({ stage: 'qualified', revision: 1 }) }),
        ...inEveryScope(
          [
            ['n:lead:EUR', -1],
            ['amount:lead:EUR', -40_000],
            ['n:qualified:EUR', 1],
            ['amount:qualified:EUR', 40_000],
          ],
          score(1, at(6, 3)),
        ),
      ]);
    const { store } = given([capture, qualified(at(6, 3))]);
    expect(store.settledCounters('pipeline:totals')).toEqual(
      Object.fromEntries(scopes.map((scope) => [totalsCounter(scope), { 'amount:qualified:EUR': 40_000, 'n:qualified:EUR': 1 }])),
    );
    expect(store.indexEntries('pipeline:activity')).toEqual({ d1: score(1, at(6, 3)) });
    expect(store.indexEntries('pipeline:activity:owner:alice:source:webinar')).toEqual({ d1: score(1, at(6, 3)) });
  });

  it('a re-qualification at the same instant changes neither totals nor index, only the document', () => {
    given([capture, qualified(at(6, 3))])
      .when(qualified(at(6, 3)))
      .then([expect.objectContaining({ kind: 'put', document: expect.objectContaining({ stage: 'qualified', revision: 2 }) })]);
  });

  it('a proposal with an own win probability is counted as value × probability, apart from deals without one', () => {
    given([capture, qualified(at(6, 3))])
      .when(proposalSent(at(6, 5), eur(52_000), { winProbability: 60 }))
      .then([
        expect.objectContaining({ kind: 'put', document: expect.objectContaining({ stage: 'proposal', value: eur(52_000), winProbability: 60, revision: 2 }) }),
        ...inEveryScope(
          [
            ['n:qualified:EUR', -1],
            ['amount:qualified:EUR', -40_000],
            ['n:proposal:EUR', 1],
            ['amount:proposal:EUR', 52_000],
            ['ownAmount:proposal:EUR', 52_000],
            // 52 000 × 60 / 100
            ['ownWeighted:proposal:EUR', 31_200],
          ],
          score(2, at(6, 5)),
        ),
      ]);
  });

  it('a further negotiation round that changes neither value nor probability only moves the activity time', () => {
    const history = [capture, qualified(at(6, 3)), proposalSent(at(6, 5), eur(52_000)), negotiated(at(6, 8), { round: 1 })];
    given(history)
      .when(negotiated(at(6, 10), { round: 2 }))
      .then([
        expect.objectContaining({ kind: 'put', document: expect.objectContaining({ stage: 'negotiation', lastActivityAt: at(6, 10) }) }),
        ...inEveryScope([], score(3, at(6, 10))),
      ]);
  });

  it('a counter amount within negotiation changes only the value fields, by the difference', () => {
    const history = [capture, qualified(at(6, 3)), proposalSent(at(6, 5), eur(52_000), { winProbability: 50 }), negotiated(at(6, 8))];
    const { store } = given(history).when(negotiated(at(6, 10), { round: 2, counterAmount: eur(48_000) }));
    // ownWeighted = 48 000 × 50 / 100
    expect(store.settledCounters('pipeline:totals')[totalsCounter(all)]).toEqual({
      'amount:negotiation:EUR': 48_000,
      'n:negotiation:EUR': 1,
      'ownAmount:negotiation:EUR': 48_000,
      'ownWeighted:negotiation:EUR': 24_000,
    });
  });

  it('a won deal counts its final amount in won without its own probability, and leaves the open stages', () => {
    const history = [capture, qualified(at(6, 3)), proposalSent(at(6, 5), eur(52_000), { winProbability: 80 })];
    const { store } = given(history).when(won(at(6, 20), eur(50_000)));
    expect(store.settledCounters('pipeline:totals')[totalsCounter(all)]).toEqual({ 'amount:won:EUR': 50_000, 'n:won:EUR': 1 });
    expect(store.indexEntries('pipeline:activity')).toEqual({ d1: score(4, at(6, 20)) });
  });

  it('a lost deal without a final amount keeps its latest figure', () => {
    const { store } = given([capture]).when(lost(at(6, 2)));
    expect(store.settledCounters('pipeline:totals')[totalsCounter(alice)]).toEqual({ 'amount:lost:EUR': 40_000, 'n:lost:EUR': 1 });
  });

  it('a follow-up after the close only moves the activity time', () => {
    const history = [capture, lost(at(6, 2))];
    given(history)
      .when(followedUp(at(7, 1)))
      .then([
        expect.objectContaining({ kind: 'put', document: expect.objectContaining({ stage: 'lost', lastActivityAt: at(7, 1), revision: 2 }) }),
        ...inEveryScope([], score(5, at(7, 1))),
      ]);
  });

  it('an event of a deal whose capture it never saw changes nothing', () => {
    const [, stored] = dealStream('ghost', [capture, qualified(at(6, 3))]);
    expect(pipelineProjection.project(stored!, { get: () => undefined })).toEqual([]);
  });

  it('owner and source names are encoded, so a colon in them cannot collide with another scope', () => {
    const { store } = given([]).when(leadCaptured(at(6, 1), { dealId: 'd1', owner: 'a:b', source: 'c d' }));
    expect(Object.keys(store.settledCounters('pipeline:totals')).sort()).toEqual([
      'pipeline:totals',
      'pipeline:totals:owner:a%3Ab',
      'pipeline:totals:owner:a%3Ab:source:c%20d',
      'pipeline:totals:source:c%20d',
    ]);
    expect(Object.keys(Object.fromEntries(store.indexes)).sort()).toEqual([
      'pipeline:activity',
      'pipeline:activity:owner:a%3Ab',
      'pipeline:activity:owner:a%3Ab:source:c%20d',
      'pipeline:activity:source:c%20d',
    ]);
  });

  describe('several deals in two currencies', () => {
    const deals = [
      dealStream('d1', [capture, qualified(at(6, 3)), proposalSent(at(6, 5), eur(52_000), { winProbability: 60 })], { firstPosition: 1 }),
      dealStream('d2', [leadCaptured(at(6, 2), { dealId: 'd2', owner: 'bob', estimatedValue: usd(10_000) }), qualified(at(6, 4)), proposalSent(at(6, 6), usd(12_000))], {
        firstPosition: 10,
      }),
      dealStream('d3', [leadCaptured(at(6, 2), { dealId: 'd3', source: 'referral', estimatedValue: eur(8_000) }), qualified(at(6, 4)), proposalSent(at(6, 7), eur(9_000))], {
        firstPosition: 20,
      }),
      dealStream('d4', [leadCaptured(at(6, 3), { dealId: 'd4', estimatedValue: eur(5_000) }), lost(at(6, 9))], { firstPosition: 30 }),
    ];
    const interleaved = deals.flat().sort((a, b) => Number(a.position.commit - b.position.commit));

    function projected(events: readonly StoredDealEvent[]): InMemoryReadModelStore {
      const store = new InMemoryReadModelStore();
      store.project(pipelineProjection, events);
      return store;
    }

    it('totals sum per stage and currency, for all deals, per owner, per source and per owner-and-source', () => {
      const store = projected(interleaved);
      expect(store.settledCounters('pipeline:totals')).toEqual({
        'pipeline:totals': {
          // d1 52 000 (own 60 % → 31 200) + d3 9 000 (no own probability)
          'amount:proposal:EUR': 61_000,
          'n:proposal:EUR': 2,
          'ownAmount:proposal:EUR': 52_000,
          'ownWeighted:proposal:EUR': 31_200,
          'amount:proposal:USD': 12_000,
          'n:proposal:USD': 1,
          'amount:lost:EUR': 5_000,
          'n:lost:EUR': 1,
        },
        'pipeline:totals:owner:alice': {
          'amount:proposal:EUR': 61_000,
          'n:proposal:EUR': 2,
          'ownAmount:proposal:EUR': 52_000,
          'ownWeighted:proposal:EUR': 31_200,
          'amount:lost:EUR': 5_000,
          'n:lost:EUR': 1,
        },
        'pipeline:totals:owner:alice:source:webinar': {
          'amount:proposal:EUR': 52_000,
          'n:proposal:EUR': 1,
          'ownAmount:proposal:EUR': 52_000,
          'ownWeighted:proposal:EUR': 31_200,
          'amount:lost:EUR': 5_000,
          'n:lost:EUR': 1,
        },
        'pipeline:totals:owner:alice:source:referral': { 'amount:proposal:EUR': 9_000, 'n:proposal:EUR': 1 },
        'pipeline:totals:owner:bob': { 'amount:proposal:USD': 12_000, 'n:proposal:USD': 1 },
        'pipeline:totals:owner:bob:source:webinar': { 'amount:proposal:USD': 12_000, 'n:proposal:USD': 1 },
        'pipeline:totals:source:referral': { 'amount:proposal:EUR': 9_000, 'n:proposal:EUR': 1 },
        'pipeline:totals:source:webinar': {
          'amount:proposal:EUR': 52_000,
          'n:proposal:EUR': 1,
          'ownAmount:proposal:EUR': 52_000,
          'ownWeighted:proposal:EUR': 31_200,
          'amount:proposal:USD': 12_000,
          'n:proposal:USD': 1,
          'amount:lost:EUR': 5_000,
          'n:lost:EUR': 1,
        },
      });
      expect(store.indexEntries(activityIndex({}))).toEqual({
        d1: score(2, at(6, 5)),
        d2: score(2, at(6, 6)),
        d3: score(2, at(6, 7)),
        d4: score(5, at(6, 9)),
      });
    });

    it('deals projected one after the other or interleaved end in the same state', () => {
      const one = projected(deals.flat());
      const other = projected(interleaved);
      expect(other.settledCounters('pipeline:')).toEqual(one.settledCounters('pipeline:'));
      expect(other.documents).toEqual(one.documents);
      expect(other.indexes).toEqual(one.indexes);
    });

    it('running every event twice ends in the same state as running it once', () => {
      const once = projected(interleaved);
      const twice = projected([...interleaved, ...interleaved]);
      expect(twice.settledCounters('pipeline:')).toEqual(once.settledCounters('pipeline:'));
      expect(twice.documents).toEqual(once.documents);
      expect(twice.indexes).toEqual(once.indexes);
    });
  });
});
