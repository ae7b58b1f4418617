import {
  type AnalyticsOptions,
  computeCycleAnalytics,
  contribute,
  groupKey,
  percentile,
  reachedAt,
  standingField,
  statsOfSorted,
  timeInStage,
} from './cycle-metrics';
import { type DealTimeline, timelineAt } from './deal-timeline';
import { SortedDurations } from './sorted-durations';
import { cycleFixtureTimelines as deals, day } from './testing/cycle-fixture';

// Every expectation below is worked out by hand from the table in testing/cycle-fixture.ts;
// the comment beside each number shows the arithmetic. Days are whole UTC days from 2025-01-01.

const deal = (id: string) => deals.find((timeline) => timeline.dealId === id)!;
const run = (options: Partial<AnalyticsOptions> = {}) => computeCycleAnalytics(deals, { basis: 'cohort', asOf: day(60), ...options });

describe('percentile (linear interpolation between closest ranks)', () => {
  it('interpolates between the two ranks around (n − 1) × p', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5); // rank 1.5: 2 + 0.5 × (3 − 2)
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBeCloseTo(9.1, 10); // rank 8.1: 9 + 0.1 × 1
    expect(percentile([11, 13, 20], 0.9)).toBeCloseTo(18.6, 10); // rank 1.8: 13 + 0.8 × 7
  });

  it('of one value is that value, at any p', () => {
    expect(percentile([7], 0.5)).toBe(7);
    expect(percentile([7], 0.9)).toBe(7);
  });
});

describe('duration statistics', () => {
  it('count, mean, median and p90 in days; null figures when there is nothing to measure', () => {
    expect(statsOfSorted(SortedDurations.of([20, 11, 13].map((days) => days * 86_400_000)))).toEqual({ count: 3, meanDays: 14.67, medianDays: 13, p90Days: 18.6 });
    expect(statsOfSorted(SortedDurations.of([]))).toEqual({ count: 0, meanDays: null, medianDays: null, p90Days: null });
  });
});

describe('which stage a deal reached', () => {
  it('a deal won straight from proposal never entered negotiation, but reached negotiation-or-later when it was won', () => {
    expect(reachedAt(deal('B'), 'proposal')).toBe(day(8));
    expect(reachedAt(deal('B'), 'negotiation')).toBe(day(14));
    expect(reachedAt(deal('B'), 'won')).toBe(day(14));
  });

  it('a deal lost from proposal reached proposal and nothing after it', () => {
    expect(reachedAt(deal('G'), 'proposal')).toBe(day(13));
    expect(reachedAt(deal('G'), 'negotiation')).toBeUndefined();
    expect(reachedAt(deal('G'), 'won')).toBeUndefined();
  });
});

describe('time in stage of one deal', () => {
  it('adds up every stint in a re-entered stage, and keeps the latest stint apart', () => {
    // A: proposal 5–10 and 12–15 → 5 + 3 = 8 days, latest 3; negotiation 10–12 and 15–20 → 2 + 5 = 7, latest 5.
    expect(timeInStage(deal('A'), 'proposal')).toEqual({ cumulativeMs: 8 * 86_400_000, latestStintMs: 3 * 86_400_000, leftAt: day(15) });
    expect(timeInStage(deal('A'), 'negotiation')).toEqual({ cumulativeMs: 7 * 86_400_000, latestStintMs: 5 * 86_400_000, leftAt: day(20) });
  });

  it('a deal still in the stage has no time in it yet, even for stints it completed before', () => {
    // As of day 13, A is in its second proposal stint (from day 12): its first (5–10) is not counted yet.
    expect(timeInStage(timelineAt(deal('A'), day(13))!, 'proposal')).toBe('in stage');
    expect(timeInStage(deal('D'), 'proposal')).toBe('in stage');
    expect(timeInStage(deal('B'), 'negotiation')).toBeUndefined();
  });
});

describe('cycle analytics, cohort basis, all deals, as of day 60', () => {
  const result = run();

  it('counts won, lost and open deals', () => {
    expect({ won: result.won, lost: result.lost, open: result.open }).toEqual({ won: 3, lost: 2, open: 2 }); // A B E | C G | D F
  });

  it('win rate by count and by value, per currency', () => {
    expect(result.winRate).toEqual({
      byCount: 0.6, // 3 / (3 + 2)
      byValue: {
        EUR: 0.68, // (A 11 000 + B 6 000) / (17 000 + C 8 000) = 17 000 / 25 000
        USD: 0.7143, // E 30 000 / (30 000 + G 12 000) = 0.714285…
      },
    });
  });

  it('cycle length over won deals, lead captured to closed won', () => {
    // A 0→20 = 20, B 3→14 = 11, E 32→45 = 13; sorted 11, 13, 20
    expect(result.cycleLength).toEqual({
      count: 3,
      meanDays: 14.67, // 44 / 3 = 14.666…
      medianDays: 13,
      p90Days: 18.6, // rank (3 − 1) × 0.9 = 1.8: 13 + 0.8 × (20 − 13)
    });
  });

  it('conversion next-step and cumulative, a skipped stage counting as passed', () => {
    // Reached (at least): lead 7 (all); qualified 6 (not F); proposal 5 (A B D E G);
    // negotiation 3 (A E, and B, won from proposal); won 3 (A B E).
    expect(result.stages.map(({ stage, reached, conversion }) => ({ stage, reached, ...conversion }))).toEqual([
      { stage: 'lead', reached: 7, next: 'qualified', nextStep: 0.8571, cumulative: 1 }, // 6 / 7
      { stage: 'qualified', reached: 6, next: 'proposal', nextStep: 0.8333, cumulative: 0.8571 }, // 5 / 6; 6 / 7
      { stage: 'proposal', reached: 5, next: 'negotiation', nextStep: 0.6, cumulative: 0.7143 }, // 3 / 5; 5 / 7
      { stage: 'negotiation', reached: 3, next: 'won', nextStep: 1, cumulative: 0.4286 }, // 3 / 3; 3 / 7
      { stage: 'won', reached: 3, next: null, nextStep: null, cumulative: 0.4286 }, // 3 / 7
    ]);
  });

  it('conversion past a stage no deal left: cumulative 0 for every later stage, not null', () => {
    // Given C alone (lead, qualified, lost): none reached proposal, so none reached anything after it.
    const only = computeCycleAnalytics([deal('C')], { basis: 'cohort', asOf: day(60) });
    // Then each later stage holds 0 of the 1 lead (reached ÷ captured), though their next steps are unknown.
    expect(only.stages.map(({ stage, reached, conversion }) => ({ stage, reached, nextStep: conversion.nextStep, cumulative: conversion.cumulative }))).toEqual([
      { stage: 'lead', reached: 1, nextStep: 1, cumulative: 1 },
      { stage: 'qualified', reached: 1, nextStep: 0, cumulative: 1 },
      { stage: 'proposal', reached: 0, nextStep: null, cumulative: 0 },
      { stage: 'negotiation', reached: 0, nextStep: null, cumulative: 0 },
      { stage: 'won', reached: 0, nextStep: null, cumulative: 0 },
    ]);
  });

  it('time in stage over completed stints: cumulative over all stints, and the latest stint', () => {
    const [lead, qualified, proposal, negotiation, won] = result.stages.map((stage) => stage.timeInStage);
    // lead: A 2, B 1, C 5, D 2, E 3, G 2 → sorted 1 2 2 2 3 5; F still in lead
    expect(lead).toEqual({
      cumulative: { count: 6, meanDays: 2.5, medianDays: 2, p90Days: 4 }, // 15 / 6; rank 2.5 → 2; rank 4.5 → 3 + 0.5 × 2
      latestStint: { count: 6, meanDays: 2.5, medianDays: 2, p90Days: 4 },
      stillInStage: 1,
    });
    // qualified: A 3, B 4, C 1, D 7, E 1, G 1 → sorted 1 1 1 3 4 7
    expect(qualified).toEqual({
      cumulative: { count: 6, meanDays: 2.83, medianDays: 2, p90Days: 5.5 }, // 17 / 6 = 2.833…; rank 2.5 → (1 + 3) / 2; rank 4.5 → 4 + 0.5 × 3
      latestStint: { count: 6, meanDays: 2.83, medianDays: 2, p90Days: 5.5 },
      stillInStage: 0,
    });
    // proposal: cumulative A 5 + 3 = 8, B 6, E 3, G 7 → 3 6 7 8; latest A 3, B 6, E 3, G 7 → 3 3 6 7; D still in it
    expect(proposal).toEqual({
      cumulative: { count: 4, meanDays: 6, medianDays: 6.5, p90Days: 7.7 }, // 24 / 4; rank 1.5 → 6.5; rank 2.7 → 7 + 0.7 × 1
      latestStint: { count: 4, meanDays: 4.75, medianDays: 4.5, p90Days: 6.7 }, // 19 / 4; rank 1.5 → (3 + 6) / 2; rank 2.7 → 6 + 0.7 × 1
      stillInStage: 1,
    });
    // negotiation: cumulative A 2 + 5 = 7, E 6 → 6 7; latest A 5, E 6 → 5 6
    expect(negotiation).toEqual({
      cumulative: { count: 2, meanDays: 6.5, medianDays: 6.5, p90Days: 6.9 }, // rank 0.9 → 6 + 0.9 × 1
      latestStint: { count: 2, meanDays: 5.5, medianDays: 5.5, p90Days: 5.9 },
      stillInStage: 0,
    });
    expect(won).toBeNull();
  });

  it('sales velocity per currency: open deals × average won value × win rate ÷ average cycle length', () => {
    expect(result.velocity).toEqual({
      EUR: {
        openDeals: 2, // D, F
        averageWonValue: 8_500, // (11 000 + 6 000) / 2
        winRate: 0.6667, // A B won, C lost: 2 / 3
        averageCycleDays: 15.5, // (20 + 11) / 2
        perDay: 731.18, // 2 × 8 500 × 2/3 ÷ 15.5 = 11 333.33… ÷ 15.5 = 731.1828…
      },
      USD: {
        openDeals: 0,
        averageWonValue: 30_000, // E
        winRate: 0.5, // E won, G lost
        averageCycleDays: 13,
        perDay: 0, // no open USD deal
      },
    });
  });

  it('no groups unless asked for', () => {
    expect(result.groups).toEqual([]);
  });
});

describe('grouping', () => {
  it('by owner: each group has the full set of figures, groups ordered by key', () => {
    const { groups } = run({ groupBy: 'owner' });
    expect(groups.map(({ key, won, lost, open, winRate, cycleLength }) => ({ key, won, lost, open, byCount: winRate.byCount, cycleLength }))).toEqual([
      // alice: A B E won; cycles 20, 11, 13 as overall
      { key: 'alice', won: 3, lost: 0, open: 0, byCount: 1, cycleLength: { count: 3, meanDays: 14.67, medianDays: 13, p90Days: 18.6 } },
      // bob: C lost, D F open
      { key: 'bob', won: 0, lost: 1, open: 2, byCount: 0, cycleLength: { count: 0, meanDays: null, medianDays: null, p90Days: null } },
      { key: 'carol', won: 0, lost: 1, open: 0, byCount: 0, cycleLength: { count: 0, meanDays: null, medianDays: null, p90Days: null } },
    ]);
  });

  it('by source', () => {
    const { groups } = run({ groupBy: 'source' });
    // referral: B won, F open; webinar: A E won, C G lost, D open
    expect(groups.map(({ key, won, lost, open }) => ({ key, won, lost, open }))).toEqual([
      { key: 'referral', won: 1, lost: 0, open: 1 },
      { key: 'webinar', won: 2, lost: 2, open: 1 },
    ]);
  });

  it('by capture month, in UTC', () => {
    const { groups } = run({ groupBy: 'month' });
    // January: A B won, C G lost; February: E won, D F open
    expect(groups.map(({ key, won, lost, open, cycleLength }) => ({ key, won, lost, open, mean: cycleLength.meanDays }))).toEqual([
      { key: '2025-01', won: 2, lost: 2, open: 0, mean: 15.5 }, // (20 + 11) / 2
      { key: '2025-02', won: 1, lost: 0, open: 2, mean: 13 },
    ]);
    expect(groupKey({ ...deal('A'), capturedAt: Date.parse('2025-01-31T23:30:00-02:00') }, 'month')).toBe('2025-02');
  });
});

describe('as of a date', () => {
  it('answers from events up to and including asOf, as the numbers stood then', () => {
    // Day 14: B was won that instant; A is back in proposal (12–); G in proposal (13–); D E F not captured yet.
    const result = run({ asOf: day(14) });
    expect({ won: result.won, lost: result.lost, open: result.open }).toEqual({ won: 1, lost: 1, open: 2 });
    expect(result.cycleLength).toEqual({ count: 1, meanDays: 11, medianDays: 11, p90Days: 11 });
    expect(result.winRate).toEqual({ byCount: 0.5, byValue: { EUR: 0.4286, USD: null } }); // B 6 000 / (6 000 + C 8 000) = 0.428571…
    // proposal: B 8–14 completed (6); A (second stint) and G still in it
    expect(result.stages[2]!.timeInStage).toEqual({
      cumulative: { count: 1, meanDays: 6, medianDays: 6, p90Days: 6 },
      latestStint: { count: 1, meanDays: 6, medianDays: 6, p90Days: 6 },
      stillInStage: 2,
    });
  });

  it('one millisecond before a close, the deal is still open', () => {
    const result = run({ asOf: day(14) - 1 });
    expect({ won: result.won, lost: result.lost, open: result.open }).toEqual({ won: 0, lost: 1, open: 3 });
  });

  it('the same question asked twice gives the same answer', () => {
    expect(run({ asOf: day(30), groupBy: 'owner' })).toEqual(run({ asOf: day(30), groupBy: 'owner' }));
  });
});

describe('cohort basis with a window', () => {
  it('takes only deals captured in [from, to), followed up to asOf', () => {
    // Captured in February (day 31 to 59): D, E, F. E won on day 45.
    const result = run({ from: day(31), to: day(59) });
    expect({ won: result.won, lost: result.lost, open: result.open }).toEqual({ won: 1, lost: 0, open: 2 });
    expect(result.cycleLength.meanDays).toBe(13);
    expect(result.stages.map((stage) => stage.reached)).toEqual([3, 2, 2, 1, 1]); // lead D E F; qualified D E; proposal D E; negotiation E; won E
  });

  it('`to` is exclusive: a deal captured exactly at `to` belongs to the next window', () => {
    expect(run({ from: day(0), to: day(3) }).won).toBe(1); // A (day 0) and C (day 1) only: A won
    expect(run({ from: day(3), to: day(4) }).won).toBe(1); // B, captured at day 3
  });
});

describe('period basis: what happened in [from, to)', () => {
  // Window day 10 (inclusive) to day 21 (exclusive), asOf day 60.
  const result = run({ basis: 'period', from: day(10), to: day(21) });

  it('counts closes in the window, and deals open at its end', () => {
    // won in window: B (14), A (20); lost: G (20); C lost on day 7, before it. Open at day 21: none (D E F later).
    expect({ won: result.won, lost: result.lost, open: result.open }).toEqual({ won: 2, lost: 1, open: 0 });
    expect(result.cycleLength).toEqual({ count: 2, meanDays: 15.5, medianDays: 15.5, p90Days: 19.1 }); // 11, 20; rank 0.9 → 11 + 0.9 × 9
    expect(result.winRate).toEqual({ byCount: 0.6667, byValue: { EUR: 1, USD: 0 } }); // 2 / 3; EUR 17 000 / 17 000; USD 0 / 12 000
  });

  it('conversion over deals that reached each stage in the window, followed to its end', () => {
    // lead in window: G (10) → qualified ✓. qualified: G (12) → proposal ✓. proposal: G (13) → never further.
    // negotiation-or-later: A (10), B (14, won) → both won. won: A (20), B (14).
    expect(result.stages.map(({ stage, reached, conversion }) => ({ stage, reached, nextStep: conversion.nextStep, cumulative: conversion.cumulative }))).toEqual([
      { stage: 'lead', reached: 1, nextStep: 1, cumulative: 1 },
      { stage: 'qualified', reached: 1, nextStep: 1, cumulative: 1 },
      { stage: 'proposal', reached: 1, nextStep: 0, cumulative: 1 },
      { stage: 'negotiation', reached: 2, nextStep: 1, cumulative: 0 }, // 1 × 1 × 0
      { stage: 'won', reached: 2, nextStep: null, cumulative: 0 },
    ]);
  });

  it('time in stage over deals that left the stage (for the last time) in the window', () => {
    const [lead, qualified, proposal, negotiation] = result.stages.map((stage) => stage.timeInStage);
    expect(lead?.cumulative).toEqual({ count: 1, meanDays: 2, medianDays: 2, p90Days: 2 }); // G left lead on day 12 after 2 days
    expect(qualified?.cumulative).toEqual({ count: 1, meanDays: 1, medianDays: 1, p90Days: 1 }); // G 12–13
    // proposal left in window: A (15; 5 + 3 = 8, latest 3), B (14; 6), G (20; 7)
    expect(proposal).toEqual({
      cumulative: { count: 3, meanDays: 7, medianDays: 7, p90Days: 7.8 }, // 6 7 8: rank 1.8 → 7 + 0.8
      latestStint: { count: 3, meanDays: 5.33, medianDays: 6, p90Days: 6.8 }, // 3 6 7: 16 / 3; rank 1.8 → 6 + 0.8
      stillInStage: 0,
    });
    expect(negotiation?.cumulative).toEqual({ count: 1, meanDays: 7, medianDays: 7, p90Days: 7 }); // A left on day 20: 2 + 5
  });

  it('velocity from the window’s closes and the deals open at its end', () => {
    expect(result.velocity).toEqual({
      EUR: { openDeals: 0, averageWonValue: 8_500, winRate: 1, averageCycleDays: 15.5, perDay: 0 },
      USD: { openDeals: 0, averageWonValue: null, winRate: 0, averageCycleDays: null, perDay: null },
    });
  });

  it('a period seen before its end, through asOf, stops at asOf', () => {
    // Window days 10–21, asOf day 14: only B's win (day 14) has happened.
    const early = run({ basis: 'period', from: day(10), to: day(21), asOf: day(14) });
    expect({ won: early.won, lost: early.lost, open: early.open }).toEqual({ won: 1, lost: 0, open: 2 }); // A and G open on day 14
  });
});

describe('the standing fields of a deal', () => {
  const counted = (timeline: DealTimeline, counts: boolean) => {
    const fields = new Map<string, number>();
    contribute(timeline, () => counts, { count: (field, by) => fields.set(field, (fields.get(field) ?? 0) + by), duration: () => {} });
    return fields;
  };

  it('are exactly what a deal counts when nothing it did counts, open or closed, at any day', () => {
    for (const timeline of deals) {
      for (const at of [day(5), day(12), day(20), day(60)]) {
        const then = timelineAt(timeline, at);
        if (then === undefined) continue;
        const standing = counted(then, false);
        expect([...standing.keys()].every(standingField)).toBe(true);
        expect(new Map([...counted(then, true)].filter(([field]) => standingField(field)))).toEqual(standing);
      }
    }
  });
});
