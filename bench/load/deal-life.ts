// The commands one deal goes through, with the API contract's bodies (docs/api.md): capture the lead,
// qualify it, send a proposal, negotiate some rounds, close it won or lost, follow up. The mix follows a
// real pipeline: some leads are lost before a proposal, most proposals see one to three rounds, about
// half of the negotiated deals are won, and closed deals often get a follow-up.
import { randomInt } from 'node:crypto';

export interface DealStep {
  /** Path under the base URL; `{id}` stands for the deal's id, known once the lead is captured. */
  readonly path: string;
  /** The route's name, for per-route counts. */
  readonly route: string;
  readonly body: string;
}

const currencies = ['EUR', 'USD', 'GBP'] as const;
const sources = ['referral', 'web', 'event', 'outbound'] as const;
const channels = ['email', 'call', 'meeting'] as const;

function pick<T>(items: readonly T[]): T {
  return items[randomInt(items.length)]!;
}

function chance(percent: number): boolean {
  return randomInt(100) < percent;
}

/** The steps of one deal's life, decided up front so the client only walks them. */
export function dealLife(serial: number): DealStep[] {
  const value = 5_000 + randomInt(200) * 500;
  const currency = pick(currencies);
  const steps: DealStep[] = [
    {
      path: '/deals',
      route: 'capture',
      body: JSON.stringify({
        title: `Platform rollout ${serial}`,
        organization: `Customer ${serial % 5_000}`,
        contact: { name: 'Ada Lovelace', email: `buyer${serial % 5_000}@example.com` },
        source: pick(sources),
        owner: `rep.${serial % 40}`,
        estimatedValue: { amount: value, currency },
      }),
    },
  ];
  const step = (route: string, path: string, body: object) => steps.push({ route, path: `/deals/{id}/${path}`, body: JSON.stringify(body) });
  const qualified = chance(80);
  step('qualify', 'qualification', {
    budget: qualified,
    authority: true,
    need: true,
    timeline: qualified || chance(50),
    notes: 'Discovery call: BANT checked with the buyer',
  });
  if (!qualified) {
    step('close', 'closing', { outcome: 'lost', reason: 'No budget this year' });
    return steps;
  }
  const validUntil = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  step('proposal', 'proposals', {
    amount: value,
    currency,
    validUntil,
    terms: 'Annual subscription, net 30',
    winProbability: 40 + randomInt(30),
  });
  const rounds = chance(85) ? 1 + randomInt(3) : 0;
  let price = value;
  for (let round = 1; round <= rounds; round++) {
    price = Math.round(price * 0.95);
    step('negotiate', 'negotiations', {
      counterAmount: price,
      ...(chance(50) ? { discountPercent: 5 } : {}),
      objections: round === 1 ? ['price too high'] : [],
      notes: `Round ${round} with procurement`,
      winProbability: 50 + round * 10,
    });
  }
  const won = chance(55);
  step(
    'close',
    'closing',
    won ? { outcome: 'won', finalAmount: price, reason: 'Best fit on integration' } : { outcome: 'lost', reason: 'Went with a competitor' },
  );
  if (chance(60)) step('follow-up', 'follow-ups', { channel: pick(channels), notes: won ? 'Onboarding check' : 'Asked for feedback' });
  return steps;
}
