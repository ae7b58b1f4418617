import type { StoredDealEvent } from '@deals/deal-streams';
import type { DealEvent } from '@deals/domain';
import { eur, leadCaptured, lost, negotiated, proposalSent, qualified, usd, won } from '../../pipeline/testing/deal-events';
import { dealStream } from '../../pipeline/testing/in-memory-read-model';
import type { DealTimeline } from '../deal-timeline';

/**
 * The hand-computed analytics fixture: seven deals, times in whole days from 2025-01-01T00:00Z
 * (day 31 = 1 February). Every expected figure in cycle-metrics.unit.spec.ts and in
 * docs/analytics.md is worked out from this table.
 *
 * | deal | owner | source   | captured | stints (stage: from–to day)                                     | end          | value           |
 * | A    | alice | webinar  | 0        | lead 0–2, qualified 2–5, proposal 5–10, negotiation 10–12,        | won day 20   | EUR 11 000      |
 * |      |       |          |          | proposal 12–15, negotiation 15–20                                 |              |                 |
 * | B    | alice | referral | 3        | lead 3–4, qualified 4–8, proposal 8–14                            | won day 14   | EUR  6 000      |
 * | C    | bob   | webinar  | 1        | lead 1–6, qualified 6–7                                           | lost day 7   | EUR  8 000      |
 * | D    | bob   | webinar  | 31       | lead 31–33, qualified 33–40, proposal 40–                         | open         | EUR 24 000      |
 * | E    | alice | webinar  | 32       | lead 32–35, qualified 35–36, proposal 36–39, negotiation 39–45    | won day 45   | USD 30 000      |
 * | F    | bob   | referral | 40       | lead 40–                                                          | open         | EUR  3 000      |
 * | G    | carol | webinar  | 10       | lead 10–12, qualified 12–13, proposal 13–20                       | lost day 20  | USD 12 000      |
 */
const base = Date.UTC(2025, 0, 1);
export const day = (n: number): number => base + n * 86_400_000;
export const dayIso = (n: number): string => new Date(day(n)).toISOString();

const streams: Record<string, DealEvent[]> = {
  A: [
    leadCaptured(dayIso(0), { dealId: 'A', owner: 'alice', source: 'webinar', estimatedValue: eur(10_000) }),
    qualified(dayIso(2)),
    proposalSent(dayIso(5), eur(12_000)),
    negotiated(dayIso(10)),
    // A revised proposal out of negotiation: proposal is entered a second time.
    proposalSent(dayIso(12), eur(12_000), { revision: 2 }),
    negotiated(dayIso(15), { round: 2 }),
    won(dayIso(20), eur(11_000)),
  ],
  B: [
    leadCaptured(dayIso(3), { dealId: 'B', owner: 'alice', source: 'referral', estimatedValue: eur(5_000) }),
    qualified(dayIso(4)),
    proposalSent(dayIso(8), eur(5_000)),
    // Won straight from proposal: never entered negotiation.
    won(dayIso(14), eur(6_000)),
  ],
  C: [leadCaptured(dayIso(1), { dealId: 'C', owner: 'bob', source: 'webinar', estimatedValue: eur(8_000) }), qualified(dayIso(6)), lost(dayIso(7))],
  D: [
    leadCaptured(dayIso(31), { dealId: 'D', owner: 'bob', source: 'webinar', estimatedValue: eur(20_000) }),
    qualified(dayIso(33)),
    proposalSent(dayIso(40), eur(24_000)),
  ],
  E: [
    leadCaptured(dayIso(32), { dealId: 'E', owner: 'alice', source: 'webinar', estimatedValue: usd(30_000) }),
    qualified(dayIso(35)),
    proposalSent(dayIso(36), usd(30_000)),
    negotiated(dayIso(39)),
    won(dayIso(45), usd(30_000)),
  ],
  F: [leadCaptured(dayIso(40), { dealId: 'F', owner: 'bob', source: 'referral', estimatedValue: eur(3_000) })],
  G: [
    leadCaptured(dayIso(10), { dealId: 'G', owner: 'carol', source: 'webinar', estimatedValue: usd(10_000) }),
    qualified(dayIso(12)),
    proposalSent(dayIso(13), usd(12_000)),
    lost(dayIso(20)),
  ],
};

/** The fixture's events, interleaved by business time the way a store would hold them. */
export function cycleFixtureEvents(): StoredDealEvent[] {
  return Object.entries(streams)
    .flatMap(([dealId, events]) => dealStream(dealId, events))
    .sort((a, b) => Date.parse(a.event.occurredAt) - Date.parse(b.event.occurredAt) || a.dealId.localeCompare(b.dealId))
    .map((event, index) => ({ ...event, position: { commit: BigInt(index + 1), prepare: BigInt(index + 1) } }));
}

const stint = (stage: DealTimeline['stints'][number]['stage'], from: number, to: number | null) => ({
  stage,
  enteredAt: day(from),
  leftAt: to === null ? null : day(to),
});
const value = (at: number, amount: number, currency = 'EUR') => ({ at: day(at), amount, currency });

/** The same seven deals as timelines, written out by hand: what the projection must produce. */
export const cycleFixtureTimelines: readonly DealTimeline[] = [
  {
    dealId: 'A',
    owner: 'alice',
    source: 'webinar',
    capturedAt: day(0),
    stints: [stint('lead', 0, 2), stint('qualified', 2, 5), stint('proposal', 5, 10), stint('negotiation', 10, 12), stint('proposal', 12, 15), stint('negotiation', 15, 20)],
    outcome: 'won',
    closedAt: day(20),
    values: [value(0, 10_000), value(5, 12_000), value(20, 11_000)],
    revision: 6,
  },
  {
    dealId: 'B',
    owner: 'alice',
    source: 'referral',
    capturedAt: day(3),
    stints: [stint('lead', 3, 4), stint('qualified', 4, 8), stint('proposal', 8, 14)],
    outcome: 'won',
    closedAt: day(14),
    values: [value(3, 5_000), value(14, 6_000)],
    revision: 3,
  },
  {
    dealId: 'C',
    owner: 'bob',
    source: 'webinar',
    capturedAt: day(1),
    stints: [stint('lead', 1, 6), stint('qualified', 6, 7)],
    outcome: 'lost',
    closedAt: day(7),
    values: [value(1, 8_000)],
    revision: 2,
  },
  {
    dealId: 'D',
    owner: 'bob',
    source: 'webinar',
    capturedAt: day(31),
    stints: [stint('lead', 31, 33), stint('qualified', 33, 40), stint('proposal', 40, null)],
    outcome: null,
    closedAt: null,
    values: [value(31, 20_000), value(40, 24_000)],
    revision: 2,
  },
  {
    dealId: 'E',
    owner: 'alice',
    source: 'webinar',
    capturedAt: day(32),
    stints: [stint('lead', 32, 35), stint('qualified', 35, 36), stint('proposal', 36, 39), stint('negotiation', 39, 45)],
    outcome: 'won',
    closedAt: day(45),
    values: [value(32, 30_000, 'USD')],
    revision: 4,
  },
  {
    dealId: 'F',
    owner: 'bob',
    source: 'referral',
    capturedAt: day(40),
    stints: [stint('lead', 40, null)],
    outcome: null,
    closedAt: null,
    values: [value(40, 3_000)],
    revision: 0,
  },
  {
    dealId: 'G',
    owner: 'carol',
    source: 'webinar',
    capturedAt: day(10),
    stints: [stint('lead', 10, 12), stint('qualified', 12, 13), stint('proposal', 13, 20)],
    outcome: 'lost',
    closedAt: day(20),
    values: [value(10, 10_000, 'USD'), value(13, 12_000, 'USD')],
    revision: 3,
  },
];
