import type { StoredDealEvent } from '@deals/deal-streams';
import { at, eur, leadCaptured, lost, negotiated, proposalSent, qualified, usd, won } from './deal-events';
import { dealStream } from './in-memory-read-model';

/**
 * Eight deals, hand-placed so every pipeline rule shows. `now` is 2025-07-01T09:00Z; rotting
 * limits are the defaults (lead 14, qualified 21, proposal 30, negotiation 21 days).
 *
 * | deal | owner | source   | stage       | value      | own % | last activity | days idle | rotting |
 * | d1   | alice | webinar  | proposal    | EUR 52 000 | 60    | 06-05         | 26        | no (30) |
 * | d2   | bob   | webinar  | proposal    | USD 12 000 | –     | 06-06         | 25        | no (30) |
 * | d3   | alice | referral | qualified   | EUR  9 000 | –     | 05-10         | 52        | yes (21)|
 * | d4   | alice | webinar  | lost        | EUR  5 000 | –     | 06-09         | –         | never   |
 * | d5   | bob   | referral | lead        | EUR 20 000 | –     | 06-20         | 11        | no (14) |
 * | d6   | alice | webinar  | lead        | EUR 30 000 | –     | 05-20         | 42        | yes (14)|
 * | d7   | carol | webinar  | negotiation | EUR 90 000 | 40    | 05-10         | 52        | yes (21)|
 * | d8   | alice | referral | won         | EUR 18 000 | 70    | 04-20         | –         | never   |
 */
export const pipelineNow = new Date('2025-07-01T09:00:00.000Z');

export function pipelineFixture(): StoredDealEvent[] {
  const deals: StoredDealEvent[][] = [
    dealStream('d1', [
      leadCaptured(at(6, 1), { dealId: 'd1', owner: 'alice', source: 'webinar', estimatedValue: eur(40_000) }),
      qualified(at(6, 3)),
      proposalSent(at(6, 5), eur(52_000), { winProbability: 60 }),
    ]),
    dealStream('d2', [
      leadCaptured(at(6, 2), { dealId: 'd2', owner: 'bob', source: 'webinar', estimatedValue: usd(10_000) }),
      qualified(at(6, 4)),
      proposalSent(at(6, 6), usd(12_000)),
    ]),
    dealStream('d3', [leadCaptured(at(5, 1), { dealId: 'd3', owner: 'alice', source: 'referral', estimatedValue: eur(9_000) }), qualified(at(5, 10))]),
    dealStream('d4', [leadCaptured(at(6, 3), { dealId: 'd4', owner: 'alice', source: 'webinar', estimatedValue: eur(5_000) }), lost(at(6, 9))]),
    dealStream('d5', [leadCaptured(at(6, 20), { dealId: 'd5', owner: 'bob', source: 'referral', estimatedValue: eur(20_000) })]),
    dealStream('d6', [leadCaptured(at(5, 20), { dealId: 'd6', owner: 'alice', source: 'webinar', estimatedValue: eur(30_000) })]),
    dealStream('d7', [
      leadCaptured(at(5, 1), { dealId: 'd7', owner: 'carol', source: 'webinar', estimatedValue: eur(80_000) }),
      qualified(at(5, 2)),
      proposalSent(at(5, 3), eur(100_000)),
      negotiated(at(5, 10), { counterAmount: eur(90_000), winProbability: 40 }),
    ]),
    dealStream('d8', [
      leadCaptured(at(4, 1), { dealId: 'd8', owner: 'alice', source: 'referral', estimatedValue: eur(20_000) }),
      qualified(at(4, 2)),
      proposalSent(at(4, 3), eur(20_000), { winProbability: 70 }),
      won(at(4, 20), eur(18_000)),
    ]),
  ];
  // Positions in the order the deals were listed; projections never look at them.
  return deals.flat().map((event, index) => ({ ...event, position: { commit: BigInt(index + 1), prepare: BigInt(index + 1) } }));
}
