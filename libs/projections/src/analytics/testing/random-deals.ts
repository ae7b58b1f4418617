import { seededRandom } from '@deals/platform';
import type { StoredDealEvent } from '@deals/deal-streams';
import type { DealEvent, Money } from '@deals/domain';
import { eur, leadCaptured, lost, negotiated, proposalSent, qualified, usd, won } from '../../pipeline/testing/deal-events';
import { dealStream } from '../../pipeline/testing/in-memory-read-model';
import { dayMs } from '../cycle-metrics';

export const randomDealsStart = Date.UTC(2025, 0, 1);

/**
 * Deals at millisecond times over half a year: every path a deal can take (lost early, won from
 * proposal, proposal ⇄ negotiation, still open), values changing, two currencies. With a coarser
 * `grainMs` (a day) every time is a multiple of it, so that many durations tie.
 */
export function randomDeals(count: number, seed: number, grainMs = 1): StoredDealEvent[] {
  const next = seededRandom(seed);
  const grains = (ms: number) => Math.floor(ms / grainMs) * grainMs;
  const streams: StoredDealEvent[][] = [];
  for (let index = 0; index < count; index++) {
    const dealId = `deal-${index}`;
    let time = randomDealsStart + grains(next() * 180 * dayMs);
    const later = () => new Date((time += grains(next() * 20 * dayMs) + grainMs)).toISOString();
    const money = (amount: number): Money => (index % 3 === 0 ? usd(amount) : eur(amount));
    const events: DealEvent[] = [
      leadCaptured(new Date(time).toISOString(), {
        dealId,
        owner: ['ann', 'ben', 'cy', 'dee'][Math.floor(next() * 4)]!,
        source: ['web', 'referral', 'event'][Math.floor(next() * 3)]!,
        estimatedValue: money(1_000 + Math.floor(next() * 9_000)),
      }),
    ];
    const fate = next();
    if (fate < 0.15) events.push(lost(later()));
    else if (fate > 0.1) {
      events.push(qualified(later()));
      if (next() < 0.3) events.push(qualified(later()));
      if (next() < 0.8) {
        events.push(proposalSent(later(), money(2_000 + Math.floor(next() * 8_000))));
        for (let round = 1; next() < 0.6 && round < 4; round++) {
          events.push(negotiated(later(), { round, ...(next() < 0.5 ? { counterAmount: money(1_500 + Math.floor(next() * 8_000)) } : {}) }));
          if (next() < 0.3) events.push(proposalSent(later(), money(2_000 + Math.floor(next() * 8_000)), { revision: round + 1 }));
        }
      }
      const close = next();
      if (close < 0.4) events.push(won(later(), money(2_000 + Math.floor(next() * 8_000))));
      else if (close < 0.7) events.push(lost(later()));
    }
    streams.push(dealStream(dealId, events));
  }
  return streams
    .flat()
    .sort((a, b) => Date.parse(a.event.occurredAt) - Date.parse(b.event.occurredAt) || (a.dealId < b.dealId ? -1 : 1))
    .map((event, index) => ({ ...event, position: { commit: BigInt(index + 1), prepare: BigInt(index + 1) } }));
}
