import { randomUUID } from 'node:crypto';
import type { EventStore } from '@deals/event-store';
import { type AppConfig, Clock } from '@deals/platform';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type DealCommandInput, ExecuteDealCommand } from '../deals/execute-deal-command';
import { APP_CONFIG, EVENT_STORE } from '../infrastructure/tokens';

type Step = (days: (n: number) => string) => DealCommandInput;

const capture = (title: string, organization: string, source: string, owner: string, amount: number): Step => (at) => ({
  type: 'CaptureLead',
  data: {
    title,
    organization,
    contact: { name: `Buyer at ${organization}`, email: `buyer@${organization.toLowerCase().replace(/\W+/g, '')}.example` },
    source,
    owner,
    estimatedValue: { amount, currency: 'EUR' },
  },
  occurredAt: at(0),
});
const qualify: Step = (at) => ({ type: 'QualifyDeal', data: { budget: true, authority: true, need: true, timeline: true }, occurredAt: at(4) });
const propose = (amount: number, day: number): Step => (at) => ({
  type: 'SendProposal',
  data: { amount: { amount, currency: 'EUR' }, validUntil: at(day + 30) },
  occurredAt: at(day),
});
const negotiate = (counterAmount: number, day: number, objection: string): Step => (at) => ({
  type: 'NegotiateDeal',
  data: { counterAmount, objections: [objection] },
  occurredAt: at(day),
});
const close = (outcome: 'won' | 'lost', day: number, reason: string, finalAmount?: number): Step => (at) => ({
  type: 'CloseDeal',
  data: { outcome, reason, ...(finalAmount === undefined ? {} : { finalAmount }) },
  occurredAt: at(day),
});
const followUp = (day: number): Step => (at) => ({
  type: 'RecordFollowUp',
  data: { channel: 'call', notes: 'Delivery check: customer satisfied, open to a referral' },
  occurredAt: at(day),
});

/** Deals at several stages, started `startDaysAgo` days ago, so a newcomer sees a pipeline at once. */
const demoDeals: ReadonlyArray<{ startDaysAgo: number; steps: readonly Step[] }> = [
  { startDaysAgo: 3, steps: [capture('Website chatbot pilot', 'Brightline Retail', 'web', 'ana', 12000)] },
  { startDaysAgo: 12, steps: [capture('Fleet telemetry', 'Northwind Logistics', 'referral', 'ben', 85000), qualify] },
  {
    startDaysAgo: 25,
    steps: [capture('Data warehouse migration', 'Contoso Health', 'event', 'ana', 140000), qualify, propose(132000, 9)],
  },
  {
    startDaysAgo: 40,
    steps: [
      capture('Customer portal', 'Fabrikam Energy', 'web', 'ben', 60000),
      qualify,
      propose(64000, 10),
      negotiate(58000, 18, 'price above budget'),
      negotiate(60000, 25, 'needs phased rollout'),
    ],
  },
  {
    startDaysAgo: 70,
    steps: [
      capture('Analytics platform rollout', 'Acme Corp', 'referral', 'ana', 48000),
      qualify,
      propose(52000, 8),
      negotiate(47000, 15, 'price too high'),
      propose(49500, 20),
      negotiate(49500, 24, 'contract length'),
      close('won', 30, 'Best integration fit; two-year contract', 49500),
      followUp(45),
    ],
  },
  {
    startDaysAgo: 55,
    steps: [capture('Warehouse robotics', 'Globex', 'outbound', 'carla', 220000), qualify, close('lost', 12, 'No budget this fiscal year')],
  },
  {
    startDaysAgo: 50,
    steps: [
      capture('Security audit', 'Initech', 'web', 'carla', 30000),
      qualify,
      propose(31000, 7),
      negotiate(28000, 14, 'competitor quote lower'),
      close('lost', 21, 'Chose a competitor on price'),
      followUp(35),
    ],
  },
];

/** Fills an empty embedded store with a small demo, through the same command path as the API. */
@Injectable()
export class DemoSeeder implements OnApplicationBootstrap {
  /** How many demo deals this start created (none when the store already had events). */
  seededDeals = 0;

  constructor(
    private readonly commandBus: CommandBus,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.seedDemo || !(await this.isEmpty())) return;
    const today = this.clock.now().getTime();
    for (const { startDaysAgo, steps } of demoDeals) {
      const start = today - startDaysAgo * 86_400_000;
      const at = (day: number) => new Date(start + day * 86_400_000).toISOString();
      let dealId: string | undefined;
      for (const step of steps) {
        const context = { actor: 'demo-seed', correlationId: randomUUID(), requestHash: 'demo' };
        ({ dealId } = await this.commandBus.execute(new ExecuteDealCommand(dealId, step(at), context)));
      }
    }
    this.seededDeals = demoDeals.length;
  }

  private async isEmpty(): Promise<boolean> {
    for await (const _ of this.store.readAll({ maxCount: 1 })) return false;
    return true;
  }
}
