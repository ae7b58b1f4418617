import type { StoredDealEvent } from '@deals/deal-streams';
import type { DealEvent } from '@deals/domain';
import type { ReadModelChange } from '@deals/read-models';
import { at, eur, followedUp, leadCaptured, lost, negotiated, proposalSent, qualified, won } from '../pipeline/testing/deal-events';
import { dealStream, InMemoryReadModelStore } from '../pipeline/testing/in-memory-read-model';
import { analyticsDealCollection, analyticsProjection } from './analytics.projection';
import { cycleFixtureEvents, cycleFixtureTimelines } from './testing/cycle-fixture';

/** Given the events already projected, when the next event arrives, then exactly these changes. */
function given(history: readonly DealEvent[]) {
  const store = new InMemoryReadModelStore();
  store.project(analyticsProjection, dealStream('d1', history));
  return {
    when(event: DealEvent) {
      const stored = dealStream('d1', [...history, event]).at(-1) as StoredDealEvent;
      // The timeline document; the aggregates it moves are pinned in analytics-aggregates.unit.spec.ts.
      const changes = analyticsProjection.project(stored, { get: (collection, id) => store.getSync(collection, id) }).filter((change) => change.kind === 'put' && change.collection === analyticsDealCollection);
      return {
        then(expected: readonly ReadModelChange[]): void {
          expect(changes).toEqual(expected);
        },
      };
    },
  };
}

const ms = (iso: string) => Date.parse(iso);
const capture = leadCaptured(at(3, 1), { dealId: 'd1', owner: 'alice', source: 'webinar', estimatedValue: eur(40_000) });

describe('analytics projection', () => {
  it('a captured lead starts a timeline in business time, with its first stint in lead, even when recorded much later', () => {
    // dealStream records every event on 2026-01-15: the timeline must not use that.
    given([]).when(capture).then([
      {
        kind: 'put',
        collection: analyticsDealCollection,
        id: 'd1',
        document: {
          dealId: 'd1',
          owner: 'alice',
          source: 'webinar',
          capturedAt: ms(at(3, 1)),
          stints: [{ stage: 'lead', enteredAt: ms(at(3, 1)), leftAt: null }],
          outcome: null,
          closedAt: null,
          values: [{ at: ms(at(3, 1)), amount: 40_000, currency: 'EUR' }],
          revision: 0,
        },
      },
    ]);
  });

  it('a stage change ends the current stint and starts the next one at the same instant', () => {
    given([capture])
      .when(qualified(at(3, 4)))
      .then([
        expect.objectContaining({
          document: expect.objectContaining({
            stints: [
              { stage: 'lead', enteredAt: ms(at(3, 1)), leftAt: ms(at(3, 4)) },
              { stage: 'qualified', enteredAt: ms(at(3, 4)), leftAt: null },
            ],
            revision: 1,
          }),
        }),
      ]);
  });

  it('re-qualification and a further negotiation round keep the current stint', () => {
    const history = [capture, qualified(at(3, 4)), proposalSent(at(3, 6), eur(50_000)), negotiated(at(3, 8))];
    given(history)
      .when(negotiated(at(3, 9), { round: 2 }))
      .then([expect.objectContaining({ document: expect.objectContaining({ stints: expect.arrayContaining([{ stage: 'negotiation', enteredAt: ms(at(3, 8)), leftAt: null }]), revision: 4 }) })]);
    given([capture, qualified(at(3, 4))])
      .when(qualified(at(3, 5)))
      .then([
        expect.objectContaining({
          document: expect.objectContaining({
            stints: [
              { stage: 'lead', enteredAt: ms(at(3, 1)), leftAt: ms(at(3, 4)) },
              { stage: 'qualified', enteredAt: ms(at(3, 4)), leftAt: null },
            ],
          }),
        }),
      ]);
  });

  it('a counter amount is recorded as a value change, a round without one is not', () => {
    const history = [capture, qualified(at(3, 4)), proposalSent(at(3, 6), eur(50_000))];
    given(history)
      .when(negotiated(at(3, 8), { counterAmount: eur(45_000) }))
      .then([
        expect.objectContaining({
          document: expect.objectContaining({
            values: [
              { at: ms(at(3, 1)), amount: 40_000, currency: 'EUR' },
              { at: ms(at(3, 6)), amount: 50_000, currency: 'EUR' },
              { at: ms(at(3, 8)), amount: 45_000, currency: 'EUR' },
            ],
          }),
        }),
      ]);
    given(history)
      .when(negotiated(at(3, 8)))
      .then([
        expect.objectContaining({
          document: expect.objectContaining({
            values: [
              { at: ms(at(3, 1)), amount: 40_000, currency: 'EUR' },
              { at: ms(at(3, 6)), amount: 50_000, currency: 'EUR' },
            ],
          }),
        }),
      ]);
  });

  it('closing ends the last stint and records outcome, close time and final amount', () => {
    given([capture, qualified(at(3, 4)), proposalSent(at(3, 6), eur(50_000))])
      .when(won(at(3, 20), eur(48_000)))
      .then([
        expect.objectContaining({
          document: expect.objectContaining({
            stints: expect.arrayContaining([{ stage: 'proposal', enteredAt: ms(at(3, 6)), leftAt: ms(at(3, 20)) }]),
            outcome: 'won',
            closedAt: ms(at(3, 20)),
            values: expect.arrayContaining([{ at: ms(at(3, 20)), amount: 48_000, currency: 'EUR' }]),
          }),
        }),
      ]);
  });

  it('a loss from lead closes the lead stint', () => {
    given([capture])
      .when(lost(at(3, 2)))
      .then([expect.objectContaining({ document: expect.objectContaining({ stints: [{ stage: 'lead', enteredAt: ms(at(3, 1)), leftAt: ms(at(3, 2)) }], outcome: 'lost' }) })]);
  });

  it('a follow-up changes nothing and reads nothing', () => {
    const history = [capture, lost(at(3, 2))];
    given(history).when(followedUp(at(4, 1))).then([]);
    expect(analyticsProjection.reads(dealStream('d1', [...history, followedUp(at(4, 1))]).at(-1)!)).toEqual([]);
  });

  it('the fixture’s events project into the hand-written timelines', () => {
    const store = new InMemoryReadModelStore();
    store.project(analyticsProjection, cycleFixtureEvents());
    const documents = [...(store.documents.get(analyticsDealCollection)?.values() ?? [])];
    expect(documents.sort((a, b) => String(a['dealId']).localeCompare(String(b['dealId'])))).toEqual(cycleFixtureTimelines);
  });

  it('running every event twice ends in the same timelines as running it once', () => {
    const once = new InMemoryReadModelStore();
    once.project(analyticsProjection, cycleFixtureEvents());
    const twice = new InMemoryReadModelStore();
    twice.project(analyticsProjection, [...cycleFixtureEvents(), ...cycleFixtureEvents()]);
    expect(twice.documents).toEqual(once.documents);
  });

  it('keeps the clock: the latest occurredAt, and the events more than an hour older than it counted as late', () => {
    const store = new InMemoryReadModelStore();
    const meta = () => store.getSync('analytics:meta', 'revisions');
    store.project(analyticsProjection, dealStream('d1', [capture, qualified(at(3, 5))]));
    expect(meta()).toEqual({ generation: 'd1-0', latest: ms(at(3, 5)), late: 0 });
    // Within the hour: ordinary commands committed out of order
    const within = leadCaptured(new Date(ms(at(3, 5)) - 3_599_999).toISOString(), { dealId: 'd2' });
    store.project(analyticsProjection, dealStream('d2', [within], { firstPosition: 3 }));
    expect(meta()).toEqual({ generation: 'd1-0', latest: ms(at(3, 5)), late: 0 });
    // Older than that: history imported late
    store.project(analyticsProjection, dealStream('d3', [leadCaptured(at(3, 2), { dealId: 'd3' })], { firstPosition: 4 }));
    expect(meta()).toEqual({ generation: 'd1-0', latest: ms(at(3, 5)), late: 1 });
    // A follow-up changes no timeline, so it moves no clock
    store.project(analyticsProjection, dealStream('d1', [capture, qualified(at(3, 5)), followedUp(at(2, 1))], { firstPosition: 5 }).slice(-1));
    expect(meta()).toEqual({ generation: 'd1-0', latest: ms(at(3, 5)), late: 1 });
  });

  it('starts the clock of a read model projected before it had one at its next event', () => {
    const store = new InMemoryReadModelStore();
    store.project(analyticsProjection, dealStream('d1', [capture]));
    store.apply([{ kind: 'put', collection: 'analytics:meta', id: 'revisions', document: { generation: 'older' } }]);
    store.project(analyticsProjection, dealStream('d1', [capture, qualified(at(3, 5))]).slice(-1));
    expect(store.getSync('analytics:meta', 'revisions')).toEqual({ generation: 'older', latest: ms(at(3, 5)), late: 0 });
  });

  it('an event of a deal whose capture it never saw changes nothing', () => {
    const stored = dealStream('ghost', [capture, qualified(at(3, 4))]).at(-1)!;
    expect(analyticsProjection.project(stored, { get: () => undefined })).toEqual([]);
  });
});
