import type { Money } from '../money';
import { givenDeal } from '../testing/decider-specification';
import type {
  CaptureLead,
  CloseDeal,
  DealCommand,
  NegotiateDeal,
  QualifyDeal,
  RecordFollowUp,
  SendProposal,
} from './deal-commands';
import { decide } from './deal-decider';
import type { DealEvent, DealEventOf, FollowUpChannel, Negotiated, Outcome } from './deal-events';
import { refusals } from './deal-refusal';
import { type Deal, type DealState, evolve, fold, initialDealState } from './deal-state';
import type { Stage } from './stage';

// ---------------------------------------------------------------------------------------------
// Fixtures: a fixed clock, fixed business times, and small builders for events and commands.
// ---------------------------------------------------------------------------------------------

const now = new Date('2025-06-30T12:00:00.000Z');
const context = { now };

/** 09:00 UTC on the given day of June 2025, always before `now`. */
const june = (day: number, hour = 9): string =>
  new Date(Date.UTC(2025, 5, day, hour)).toISOString();

const eur = (amount: number): Money => ({ amount, currency: 'EUR' });
const usd = (amount: number): Money => ({ amount, currency: 'USD' });

const dealId = 'deal-0001';

const leadData: CaptureLead['data'] = {
  dealId,
  title: 'Fleet telematics rollout',
  organization: 'Acme Logistics',
  contact: { name: 'Dana Reyes', email: 'dana.reyes@acme.example' },
  source: 'webinar',
  owner: 'alice',
  estimatedValue: eur(50_000),
};

const bant: QualifyDeal['data'] = { budget: true, authority: true, need: true, timeline: false };

// Events, as the decider emits them and as they are folded back.

const leadCaptured = (occurredAt: string): DealEventOf<'LeadCaptured'> => ({
  type: 'LeadCaptured',
  data: leadData,
  occurredAt,
});

const qualified = (occurredAt: string, data: QualifyDeal['data'] = bant): DealEventOf<'Qualified'> => ({
  type: 'Qualified',
  data,
  occurredAt,
});

const proposalSent = (
  occurredAt: string,
  revision: number,
  amount: Money,
  validUntil = june(30),
): DealEventOf<'ProposalSent'> => ({
  type: 'ProposalSent',
  data: { revision, amount, validUntil },
  occurredAt,
});

const negotiated = (
  occurredAt: string,
  round: number,
  data: Omit<Negotiated, 'round' | 'objections'> & { objections?: readonly string[] } = {},
): DealEventOf<'Negotiated'> => ({
  type: 'Negotiated',
  data: { round, ...data, objections: data.objections ?? [] },
  occurredAt,
});

const closed = (
  occurredAt: string,
  outcome: Outcome,
  reason: string,
  finalAmount?: Money,
): DealEventOf<'Closed'> => ({
  type: 'Closed',
  data: { outcome, ...(finalAmount ? { finalAmount } : {}), reason },
  occurredAt,
});

const followedUp = (
  occurredAt: string,
  channel: FollowUpChannel = 'call',
  notes = 'Checked delivery',
): DealEventOf<'FollowedUp'> => ({
  type: 'FollowedUp',
  data: { channel, notes },
  occurredAt,
});

// Commands.

const captureLead = (occurredAt: string): CaptureLead => ({ type: 'CaptureLead', data: leadData, occurredAt });

const qualifyDeal = (occurredAt: string, data: QualifyDeal['data'] = bant): QualifyDeal => ({
  type: 'QualifyDeal',
  data,
  occurredAt,
});

const sendProposal = (
  occurredAt: string,
  amount: Money = eur(45_000),
  validUntil = june(30),
  terms?: string,
): SendProposal => ({
  type: 'SendProposal',
  data: { amount, validUntil, ...(terms === undefined ? {} : { terms }) },
  occurredAt,
});

const negotiateDeal = (occurredAt: string, data: NegotiateDeal['data']): NegotiateDeal => ({
  type: 'NegotiateDeal',
  data,
  occurredAt,
});

const closeDeal = (occurredAt: string, data: CloseDeal['data']): CloseDeal => ({ type: 'CloseDeal', data, occurredAt });

const winDeal = (occurredAt: string, finalAmount: CloseDeal['data']['finalAmount'] = eur(42_000)): CloseDeal =>
  closeDeal(occurredAt, { outcome: 'won', finalAmount, reason: 'Best total cost of ownership' });

const loseDeal = (occurredAt: string): CloseDeal =>
  closeDeal(occurredAt, { outcome: 'lost', reason: 'Went with a competitor' });

const recordFollowUp = (
  occurredAt: string,
  channel: FollowUpChannel = 'call',
  notes = 'Checked delivery',
): RecordFollowUp => ({
  type: 'RecordFollowUp',
  data: { channel, notes },
  occurredAt,
});

// Histories: a deal brought to each stage on consecutive days of June 2025 (day 1 to day 5).

const asLead: DealEvent[] = [leadCaptured(june(1))];
const asQualified: DealEvent[] = [...asLead, qualified(june(2))];
const asProposal: DealEvent[] = [...asQualified, proposalSent(june(3), 1, eur(45_000))];
const asNegotiation: DealEvent[] = [...asProposal, negotiated(june(4), 1, { counterAmount: eur(43_000) })];
const asWon: DealEvent[] = [...asNegotiation, closed(june(5), 'won', 'Signed', eur(42_000))];
const asLost: DealEvent[] = [...asNegotiation, closed(june(5), 'lost', 'No budget left')];

const openStageHistories: ReadonlyArray<[Stage, DealEvent[]]> = [
  ['lead', asLead],
  ['qualified', asQualified],
  ['proposal', asProposal],
  ['negotiation', asNegotiation],
];

const closedStageHistories: ReadonlyArray<[Stage, DealEvent[]]> = [
  ['won', asWon],
  ['lost', asLost],
];

/** The deal after a history; fails the test when the history does not produce a deal. */
function dealAfter(history: readonly DealEvent[]): Deal {
  const state = fold(history);
  if (!state.exists) throw new Error('history did not produce a deal');
  return state;
}

const later = june(10);

// ---------------------------------------------------------------------------------------------
// decide
// ---------------------------------------------------------------------------------------------

describe('Deal decider', () => {
  describe('capturing a lead', () => {
    it('captures a lead for a deal that does not exist yet', () => {
      givenDeal([], context).when(captureLead(june(1))).then([leadCaptured(june(1))]);
    });

    it('refuses to capture the same lead twice', () => {
      givenDeal(asLead, context).when(captureLead(june(1))).thenRefused('DEAL_ALREADY_EXISTS');
    });

    it('refuses a second capture as DEAL_ALREADY_EXISTS even when the deal has moved on since its capture time', () => {
      // A re-imported history sends the original, older capture time: the answer is still "exists".
      givenDeal(asNegotiation, context).when(captureLead(june(1))).thenRefused('DEAL_ALREADY_EXISTS');
    });

    it('refuses a second capture of a closed deal', () => {
      givenDeal(asWon, context).when(captureLead(later)).thenRefused('DEAL_ALREADY_EXISTS');
    });
  });

  describe('a deal that does not exist', () => {
    it.each<[string, DealCommand]>([
      ['qualification', qualifyDeal(june(2))],
      ['proposal', sendProposal(june(3))],
      ['negotiation round', negotiateDeal(june(4), { notes: 'Asked for a discount' })],
      ['win', winDeal(june(5))],
      ['loss', loseDeal(june(5))],
      ['follow-up', recordFollowUp(june(6))],
    ])('refuses a %s', (_name, command) => {
      const refusal = givenDeal([], context).when(command).thenRefused('DEAL_NOT_FOUND');
      expect(refusal.kind).toBe('not_found');
    });
  });

  describe('qualification', () => {
    it('qualifies a lead', () => {
      givenDeal(asLead, context).when(qualifyDeal(june(2))).then([qualified(june(2))]);
    });

    it('keeps the qualification notes', () => {
      const data = { ...bant, notes: 'CFO signs above 40k' };
      givenDeal(asLead, context).when(qualifyDeal(june(2), data)).then([qualified(june(2), data)]);
    });

    it('re-qualifies a deal that is still qualified, for example once the timeline is known', () => {
      const data = { ...bant, timeline: true };
      givenDeal(asQualified, context).when(qualifyDeal(later, data)).then([qualified(later, data)]);
    });

    it.each<[Stage, DealEvent[]]>([
      ['proposal', asProposal],
      ['negotiation', asNegotiation],
    ])('refuses qualification once a proposal was sent (stage %s)', (stage, history) => {
      const refusal = givenDeal(history, context).when(qualifyDeal(later)).thenRefused('ALREADY_PAST_QUALIFICATION');
      expect(refusal.kind).toBe('conflict');
      expect(refusal.details).toEqual({ stage });
    });
  });

  describe('proposals', () => {
    it('refuses a proposal before qualification', () => {
      const refusal = givenDeal(asLead, context).when(sendProposal(june(3))).thenRefused('NOT_QUALIFIED');
      expect(refusal.details).toEqual({ stage: 'lead' });
    });

    it('sends the first proposal of a qualified deal as revision 1', () => {
      givenDeal(asQualified, context)
        .when(sendProposal(june(3), eur(45_000), june(30)))
        .then([proposalSent(june(3), 1, eur(45_000), june(30))]);
    });

    it('keeps the proposal terms when given', () => {
      givenDeal(asQualified, context)
        .when(sendProposal(june(3), eur(45_000), june(30), 'Net 30, 3-year licence'))
        .then([
          {
            type: 'ProposalSent',
            data: { revision: 1, amount: eur(45_000), validUntil: june(30), terms: 'Net 30, 3-year licence' },
            occurredAt: june(3),
          },
        ]);
    });

    it('sends a revised proposal from the proposal stage as revision 2', () => {
      givenDeal(asProposal, context)
        .when(sendProposal(june(4), eur(44_000)))
        .then([proposalSent(june(4), 2, eur(44_000))]);
    });

    it('numbers revisions 1, 2, 3 across the deal, and a proposal out of negotiation is a revision', () => {
      const history = [
        ...asQualified,
        proposalSent(june(3), 1, eur(45_000)),
        proposalSent(june(4), 2, eur(44_000)),
        negotiated(june(5), 1, { objections: ['Price too high'] }),
      ];
      givenDeal(history, context)
        .when(sendProposal(june(6), eur(41_000)))
        .then([proposalSent(june(6), 3, eur(41_000))]);
    });

    it('takes a negotiated deal back to the proposal stage with a revised proposal', () => {
      const [revised] = decide(sendProposal(june(6), eur(41_000)), fold(asNegotiation), context);
      expect(revised).toEqual(proposalSent(june(6), 2, eur(41_000)));
      const deal = dealAfter([...asNegotiation, revised!]);
      expect(deal.stage).toBe('proposal');
      expect(deal.proposals).toBe(2);
      expect(deal.value).toEqual(eur(41_000));
    });

    it('refuses a proposal whose validUntil lies before it is sent', () => {
      const refusal = givenDeal(asQualified, context)
        .when(sendProposal(june(3), eur(45_000), june(2)))
        .thenRefused('VALID_UNTIL_BEFORE_PROPOSAL');
      expect(refusal.kind).toBe('invalid');
    });

    it('accepts a proposal valid until the very moment it is sent', () => {
      givenDeal(asQualified, context)
        .when(sendProposal(june(3), eur(45_000), june(3)))
        .then([proposalSent(june(3), 1, eur(45_000), june(3))]);
    });
  });

  describe('negotiation', () => {
    it.each<[Stage, DealEvent[]]>([
      ['lead', asLead],
      ['qualified', asQualified],
    ])('refuses a negotiation round without a proposal (stage %s)', (stage, history) => {
      const refusal = givenDeal(history, context)
        .when(negotiateDeal(later, { objections: ['Price too high'] }))
        .thenRefused('NO_PROPOSAL');
      expect(refusal.details).toEqual({ stage });
    });

    it('opens negotiation on a proposal as round 1', () => {
      givenDeal(asProposal, context)
        .when(
          negotiateDeal(june(4), {
            counterAmount: eur(43_000),
            discountPercent: 5,
            objections: ['Price too high', 'Wants monthly billing'],
            notes: 'Procurement involved',
          }),
        )
        .then([
          negotiated(june(4), 1, {
            counterAmount: eur(43_000),
            discountPercent: 5,
            objections: ['Price too high', 'Wants monthly billing'],
            notes: 'Procurement involved',
          }),
        ]);
    });

    it('records an empty objections list when none are given', () => {
      givenDeal(asProposal, context)
        .when(negotiateDeal(june(4), { discountPercent: 7.5 }))
        .then([negotiated(june(4), 1, { discountPercent: 7.5 })]);
    });

    it('takes several rounds, numbered 1, 2, 3', () => {
      const history = [...asNegotiation, negotiated(june(5), 2, { notes: 'Legal review' })];
      givenDeal(history, context)
        .when(negotiateDeal(june(6), { objections: ['Payment terms'] }))
        .then([negotiated(june(6), 3, { objections: ['Payment terms'] })]);
    });

    it('keeps counting rounds over the deal life, also after a revised proposal', () => {
      const history = [
        ...asProposal,
        negotiated(june(4), 1, { objections: ['Price too high'] }),
        negotiated(june(5), 2, { discountPercent: 10 }),
        proposalSent(june(6), 2, eur(40_000)),
      ];
      givenDeal(history, context)
        .when(negotiateDeal(june(7), { notes: 'Accepts the revised price, haggles on support' }))
        .then([negotiated(june(7), 3, { notes: 'Accepts the revised price, haggles on support' })]);
    });

    it.each<[string, NegotiateDeal['data']]>([
      ['nothing at all', {}],
      ['an empty objections list', { objections: [] }],
      ['empty notes', { notes: '', objections: [] }],
    ])('refuses an empty negotiation round (%s)', (_name, data) => {
      const refusal = givenDeal(asProposal, context)
        .when(negotiateDeal(june(4), data))
        .thenRefused('EMPTY_NEGOTIATION_ROUND');
      expect(refusal.kind).toBe('invalid');
    });

    it('counts a discount of 0 as something recorded: no discount offered', () => {
      givenDeal(asProposal, context)
        .when(negotiateDeal(june(4), { discountPercent: 0 }))
        .then([negotiated(june(4), 1, { discountPercent: 0 })]);
    });

    it("reads a counterAmount given as a plain number in the deal's current currency", () => {
      // Estimated in EUR, proposed in USD: the current currency is USD.
      const history = [...asQualified, proposalSent(june(3), 1, usd(48_000))];
      givenDeal(history, context)
        .when(negotiateDeal(june(4), { counterAmount: 46_000 }))
        .then([negotiated(june(4), 1, { counterAmount: usd(46_000) })]);
    });

    it('keeps a counterAmount given with its own currency', () => {
      givenDeal(asProposal, context)
        .when(negotiateDeal(june(4), { counterAmount: { amount: 50_000, currency: 'CHF' } }))
        .then([negotiated(june(4), 1, { counterAmount: { amount: 50_000, currency: 'CHF' } })]);
    });
  });

  describe('closing', () => {
    it.each(openStageHistories)('loses a deal from the %s stage', (_stage, history) => {
      givenDeal(history, context)
        .when(loseDeal(later))
        .then([closed(later, 'lost', 'Went with a competitor')]);
    });

    it('keeps a final amount given with a loss, in the deal currency when a plain number', () => {
      givenDeal(asProposal, context)
        .when(closeDeal(later, { outcome: 'lost', finalAmount: 39_000, reason: 'Competitor at 39k' }))
        .then([closed(later, 'lost', 'Competitor at 39k', eur(39_000))]);
    });

    it.each<[Stage, DealEvent[]]>([
      ['proposal', asProposal],
      ['negotiation', asNegotiation],
    ])('wins a deal from the %s stage', (_stage, history) => {
      givenDeal(history, context)
        .when(winDeal(later, eur(42_000)))
        .then([closed(later, 'won', 'Best total cost of ownership', eur(42_000))]);
    });

    it.each<[Stage, DealEvent[]]>([
      ['lead', asLead],
      ['qualified', asQualified],
    ])('refuses to win a deal that never had a proposal (stage %s)', (stage, history) => {
      const refusal = givenDeal(history, context).when(winDeal(later)).thenRefused('NO_PROPOSAL');
      expect(refusal.details).toEqual({ stage });
    });

    it('refuses a win without a final amount', () => {
      const refusal = givenDeal(asNegotiation, context)
        .when(closeDeal(later, { outcome: 'won', reason: 'Signed' }))
        .thenRefused('FINAL_AMOUNT_REQUIRED');
      expect(refusal.kind).toBe('invalid');
    });

    it("reads a finalAmount given as a plain number in the deal's current currency", () => {
      const history = [...asQualified, proposalSent(june(3), 1, usd(48_000))];
      givenDeal(history, context)
        .when(winDeal(later, 47_500))
        .then([closed(later, 'won', 'Best total cost of ownership', usd(47_500))]);
    });
  });

  describe('a closed deal takes no stage change', () => {
    const stageChanges: ReadonlyArray<[string, DealCommand]> = [
      ['qualification', qualifyDeal(later)],
      ['proposal', sendProposal(later)],
      ['negotiation round', negotiateDeal(later, { counterAmount: 40_000 })],
      ['win', winDeal(later)],
      ['loss', loseDeal(later)],
    ];

    describe.each(closedStageHistories)('once %s', (stage, history) => {
      it.each(stageChanges)('refuses a %s', (_name, command) => {
        const refusal = givenDeal(history, context).when(command).thenRefused('DEAL_CLOSED');
        expect(refusal.kind).toBe('conflict');
        expect(refusal.details).toEqual({ stage });
      });
    });
  });

  describe('follow-ups', () => {
    it.each(openStageHistories)('refuses a follow-up while the deal is open (stage %s)', (stage, history) => {
      const refusal = givenDeal(history, context).when(recordFollowUp(later)).thenRefused('DEAL_NOT_CLOSED');
      expect(refusal.details).toEqual({ stage });
    });

    it.each(closedStageHistories)('records a follow-up once %s', (_stage, history) => {
      givenDeal(history, context)
        .when(recordFollowUp(later, 'meeting', 'Kick-off with the delivery team'))
        .then([followedUp(later, 'meeting', 'Kick-off with the delivery team')]);
    });

    it.each(closedStageHistories)(
      'records several follow-ups once %s, and they leave the stage as it was',
      (stage, history) => {
        const afterTwo = [...history, followedUp(june(6), 'email'), followedUp(june(7), 'call')];
        givenDeal(afterTwo, context)
          .when(recordFollowUp(june(8), 'other', 'Referral to a sister company'))
          .then([followedUp(june(8), 'other', 'Referral to a sister company')]);

        const deal = dealAfter([...afterTwo, followedUp(june(8), 'other', 'Referral to a sister company')]);
        expect(deal.stage).toBe(stage);
        expect(deal.followUps).toBe(3);
      },
    );
  });

  describe('business time', () => {
    it('refuses a capture that lies in the future', () => {
      const refusal = givenDeal([], context)
        .when(captureLead('2025-06-30T12:00:00.001Z'))
        .thenRefused('OCCURRED_IN_FUTURE');
      expect(refusal.kind).toBe('invalid');
      expect(refusal.details).toEqual({ occurredAt: '2025-06-30T12:00:00.001Z', now: now.toISOString() });
    });

    it('refuses any later command that lies in the future', () => {
      givenDeal(asQualified, context).when(sendProposal('2025-07-01T00:00:00.000Z')).thenRefused('OCCURRED_IN_FUTURE');
    });

    it('accepts a command that occurred exactly now', () => {
      givenDeal(asLead, context).when(qualifyDeal(now.toISOString())).then([qualified(now.toISOString())]);
    });

    it('compares instants, not strings, when the time carries an offset', () => {
      // 13:30 at +02:00 is 11:30 UTC, before now (12:00 UTC).
      givenDeal(asLead, context)
        .when(qualifyDeal('2025-06-30T13:30:00+02:00'))
        .then([qualified('2025-06-30T13:30:00+02:00')]);
    });

    it("refuses a command that occurred before the deal's previous event", () => {
      const refusal = givenDeal(asProposal, context)
        .when(negotiateDeal(june(2), { notes: 'Back-dated round' }))
        .thenRefused('OCCURRED_BEFORE_PREVIOUS_EVENT');
      expect(refusal.kind).toBe('conflict');
      expect(refusal.details).toEqual({ occurredAt: june(2), previousEventOccurredAt: june(3) });
    });

    it('refuses a follow-up dated before the close', () => {
      givenDeal(asWon, context).when(recordFollowUp(june(4, 18))).thenRefused('OCCURRED_BEFORE_PREVIOUS_EVENT');
    });

    it("accepts a command that occurred at the same instant as the deal's previous event", () => {
      givenDeal(asQualified, context).when(sendProposal(june(2))).then([proposalSent(june(2), 1, eur(45_000))]);
    });

    it('accepts a whole backdated history imported years later, in order', () => {
      const imported: DealCommand[] = [
        captureLead('2019-03-04T10:00:00.000Z'),
        qualifyDeal('2019-03-11T10:00:00.000Z'),
        sendProposal('2019-03-20T10:00:00.000Z', eur(45_000), '2019-04-20T00:00:00.000Z'),
        negotiateDeal('2019-03-27T10:00:00.000Z', { counterAmount: 43_000 }),
        sendProposal('2019-04-02T10:00:00.000Z', eur(42_000), '2019-05-02T00:00:00.000Z'),
        negotiateDeal('2019-04-05T10:00:00.000Z', { discountPercent: 2 }),
        winDeal('2019-04-10T10:00:00.000Z', 41_500),
        recordFollowUp('2019-07-10T10:00:00.000Z', 'call', 'Delivery check'),
        recordFollowUp('2020-04-10T10:00:00.000Z', 'meeting', 'Renewal talk'),
      ];

      let state: DealState = initialDealState;
      const emitted: DealEvent[] = [];
      for (const command of imported) {
        const events = decide(command, state, context);
        expect(events).toHaveLength(1);
        expect(events[0]!.occurredAt).toBe(command.occurredAt);
        emitted.push(...events);
        state = fold(events, state);
      }

      expect(emitted.map((event) => event.type)).toEqual([
        'LeadCaptured',
        'Qualified',
        'ProposalSent',
        'Negotiated',
        'ProposalSent',
        'Negotiated',
        'Closed',
        'FollowedUp',
        'FollowedUp',
      ]);
      const deal = dealAfter(emitted);
      expect(deal).toMatchObject({
        stage: 'won',
        value: eur(41_500),
        capturedAt: '2019-03-04T10:00:00.000Z',
        closedAt: '2019-04-10T10:00:00.000Z',
        lastOccurredAt: '2020-04-10T10:00:00.000Z',
        proposals: 2,
        negotiationRounds: 2,
        followUps: 2,
      });
    });
  });

  describe('refusal codes', () => {
    it('classifies every code as conflict (409), invalid (400) or not_found (404)', () => {
      expect(refusals).toEqual({
        DEAL_NOT_FOUND: 'not_found',
        DEAL_ALREADY_EXISTS: 'conflict',
        DEAL_CLOSED: 'conflict',
        DEAL_NOT_CLOSED: 'conflict',
        NOT_QUALIFIED: 'conflict',
        ALREADY_PAST_QUALIFICATION: 'conflict',
        NO_PROPOSAL: 'conflict',
        OCCURRED_BEFORE_PREVIOUS_EVENT: 'conflict',
        OCCURRED_IN_FUTURE: 'invalid',
        FINAL_AMOUNT_REQUIRED: 'invalid',
        VALID_UNTIL_BEFORE_PROPOSAL: 'invalid',
        EMPTY_NEGOTIATION_ROUND: 'invalid',
      });
    });
  });
});

// ---------------------------------------------------------------------------------------------
// evolve / fold
// ---------------------------------------------------------------------------------------------

describe('Deal evolve and fold', () => {
  it('starts from no deal', () => {
    expect(fold([])).toEqual({ exists: false });
  });

  it('builds the deal from its capture', () => {
    expect(dealAfter(asLead)).toEqual({
      exists: true,
      dealId,
      stage: 'lead',
      title: 'Fleet telematics rollout',
      organization: 'Acme Logistics',
      contact: { name: 'Dana Reyes', email: 'dana.reyes@acme.example' },
      source: 'webinar',
      owner: 'alice',
      value: eur(50_000),
      capturedAt: june(1),
      lastOccurredAt: june(1),
      proposals: 0,
      negotiationRounds: 0,
      followUps: 0,
    });
  });

  it('ignores events of a deal that was never captured: events are facts, evolve never refuses', () => {
    expect(evolve(initialDealState, qualified(june(2)))).toEqual({ exists: false });
  });

  it('does not change the state it is given', () => {
    const before = dealAfter(asProposal);
    const snapshot = structuredClone(before);
    evolve(before, negotiated(june(4), 1, { counterAmount: eur(1) }));
    expect(before).toEqual(snapshot);
  });

  it('moves through the stages and keeps the latest figure as the value', () => {
    const life: Array<[DealEvent, Stage, Money]> = [
      [leadCaptured(june(1)), 'lead', eur(50_000)],
      [qualified(june(2)), 'qualified', eur(50_000)],
      [proposalSent(june(3), 1, eur(45_000)), 'proposal', eur(45_000)],
      [negotiated(june(4), 1, { counterAmount: eur(43_000) }), 'negotiation', eur(43_000)],
      [negotiated(june(5), 2, { objections: ['Support hours'] }), 'negotiation', eur(43_000)],
      [proposalSent(june(6), 2, eur(44_000)), 'proposal', eur(44_000)],
      [negotiated(june(7), 3, { counterAmount: eur(42_500), discountPercent: 3 }), 'negotiation', eur(42_500)],
      [closed(june(8), 'won', 'Signed', eur(42_000)), 'won', eur(42_000)],
      [followedUp(june(9)), 'won', eur(42_000)],
    ];

    let state: DealState = initialDealState;
    for (const [event, stage, value] of life) {
      state = evolve(state, event);
      expect({ after: event.type, stage: (state as Deal).stage, value: (state as Deal).value }).toEqual({
        after: event.type,
        stage,
        value,
      });
    }
  });

  it('keeps the last figure when a deal is lost without a final amount, and takes it when one is given', () => {
    expect(dealAfter(asLost).value).toEqual(eur(43_000));
    expect(dealAfter([...asNegotiation, closed(june(5), 'lost', 'Too expensive', eur(40_000))]).value).toEqual(
      eur(40_000),
    );
  });

  it('counts proposals, negotiation rounds and follow-ups, and records when things happened', () => {
    const deal = dealAfter([
      ...asQualified,
      proposalSent(june(3), 1, eur(45_000)),
      negotiated(june(4), 1, { notes: 'First call' }),
      proposalSent(june(5), 2, eur(44_000)),
      negotiated(june(6), 2, { notes: 'Second call' }),
      negotiated(june(7), 3, { notes: 'Third call' }),
      closed(june(8), 'lost', 'Budget frozen'),
      followedUp(june(9)),
      followedUp(june(10), 'email', 'Asked to revisit next year'),
    ]);
    expect(deal).toMatchObject({
      stage: 'lost',
      qualification: bant,
      proposals: 2,
      latestProposalAt: june(5),
      negotiationRounds: 3,
      outcome: 'lost',
      closeReason: 'Budget frozen',
      closedAt: june(8),
      followUps: 2,
      capturedAt: june(1),
      lastOccurredAt: june(10),
    });
  });

  it('keeps the latest qualification after a re-qualification', () => {
    const requalified = { ...bant, timeline: true, notes: 'Go-live in Q4' };
    expect(dealAfter([...asQualified, qualified(june(3), requalified)]).qualification).toEqual(requalified);
  });
});

describe('win probability', () => {
  it('is carried from a proposal and from a negotiation round into the events', () => {
    givenDeal(asQualified, context)
      .when({ type: 'SendProposal', data: { amount: eur(45_000), validUntil: june(30), winProbability: 40 }, occurredAt: june(6) })
      .then([
        { type: 'ProposalSent', data: { revision: 1, amount: eur(45_000), validUntil: june(30), winProbability: 40 }, occurredAt: june(6) },
      ]);
    givenDeal(asProposal, context)
      .when(negotiateDeal(june(6), { notes: 'Close to agreement', winProbability: 75 }))
      .then([
        { type: 'Negotiated', data: { round: 1, objections: [], notes: 'Close to agreement', winProbability: 75 }, occurredAt: june(6) },
      ]);
  });

  it("keeps the seller's latest estimate until a newer one is given", () => {
    const history: DealEvent[] = [
      ...asQualified,
      { type: 'ProposalSent', data: { revision: 1, amount: eur(45_000), validUntil: june(30), winProbability: 40 }, occurredAt: june(3) },
      negotiated(june(4), 1, { objections: ['Price'] }),
    ];
    expect(dealAfter(history).winProbability).toBe(40);
    const raised: DealEvent[] = [
      ...history,
      { type: 'Negotiated', data: { round: 2, objections: [], notes: 'Verbal yes', winProbability: 90 }, occurredAt: june(5) },
    ];
    expect(dealAfter(raised).winProbability).toBe(90);
    expect(dealAfter(asProposal).winProbability).toBeUndefined();
  });
});
