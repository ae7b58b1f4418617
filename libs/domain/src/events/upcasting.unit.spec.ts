import { dealEventTypes } from '../deal/deal-events';
import { evolve, fold, initialDealState } from '../deal/deal-state';
import { currentSchemaVersions, EventUpcaster, UnknownEventError, type Upcaster } from './upcasting';

/*
 * A hypothetical history of the LeadCaptured schema, to prove that old payloads are read as today's:
 *
 *   v1  contact stored flat (contactName, contactEmail), estimatedValue a bare number beside `currency`,
 *       no `source`.
 *   v2  contact nested as { name, email }, estimatedValue as money { amount, currency }.
 *   v3  adds `source` (where the lead came from); leads recorded before it get "unknown".
 *
 * v3 is the shape the domain reads today, so a build with these upcasters declares LeadCaptured at 3.
 */

const occurredAt = '2019-03-04T10:00:00.000Z';

const leadCapturedV1 = {
  dealId: 'deal-0042',
  title: 'Warehouse scanners',
  organization: 'Northwind',
  contactName: 'Sam Okafor',
  contactEmail: 'sam@northwind.example',
  owner: 'bob',
  estimatedValue: 12_000,
  currency: 'GBP',
};

const leadCapturedV2 = {
  dealId: 'deal-0042',
  title: 'Warehouse scanners',
  organization: 'Northwind',
  contact: { name: 'Sam Okafor', email: 'sam@northwind.example' },
  owner: 'bob',
  estimatedValue: { amount: 12_000, currency: 'GBP' },
};

const leadCapturedV3 = { ...leadCapturedV2, source: 'unknown' };

const nestContactAndMoney: Upcaster = {
  type: 'LeadCaptured',
  fromVersion: 1,
  upcast({ contactName, contactEmail, estimatedValue, currency, ...rest }) {
    return {
      ...rest,
      contact: { name: contactName, email: contactEmail },
      estimatedValue: { amount: estimatedValue, currency },
    };
  },
};

const addSource: Upcaster = {
  type: 'LeadCaptured',
  fromVersion: 2,
  upcast(data) {
    return { ...data, source: 'unknown' };
  },
};

const versions = { ...currentSchemaVersions, LeadCaptured: 3 };

describe('EventUpcaster', () => {
  it('declares a current schema version for every event type', () => {
    expect(Object.keys(currentSchemaVersions).sort()).toEqual([...dealEventTypes].sort());
  });

  it('reads a v1 payload as v3, one step at a time', () => {
    const steps: string[] = [];
    const tracked = [nestContactAndMoney, addSource].map(
      (upcaster): Upcaster => ({
        ...upcaster,
        upcast: (data) => {
          steps.push(`${upcaster.fromVersion}->${upcaster.fromVersion + 1}`);
          return upcaster.upcast(data);
        },
      }),
    );
    const upcaster = new EventUpcaster(tracked, versions);

    const event = upcaster.toCurrent('LeadCaptured', 1, leadCapturedV1, occurredAt);

    expect(steps).toEqual(['1->2', '2->3']);
    expect(event).toEqual({ type: 'LeadCaptured', data: leadCapturedV3, occurredAt });
  });

  it('folds an upcast v1 capture and later events into a proper deal', () => {
    const upcaster = new EventUpcaster([addSource, nestContactAndMoney], versions);

    const deal = fold([
      upcaster.toCurrent('LeadCaptured', 1, leadCapturedV1, occurredAt),
      upcaster.toCurrent(
        'Qualified',
        1,
        { budget: true, authority: true, need: true, timeline: true },
        '2019-03-11T10:00:00.000Z',
      ),
    ]);

    expect(deal).toEqual({
      exists: true,
      dealId: 'deal-0042',
      stage: 'qualified',
      title: 'Warehouse scanners',
      organization: 'Northwind',
      contact: { name: 'Sam Okafor', email: 'sam@northwind.example' },
      source: 'unknown',
      owner: 'bob',
      value: { amount: 12_000, currency: 'GBP' },
      capturedAt: occurredAt,
      lastOccurredAt: '2019-03-11T10:00:00.000Z',
      qualification: { budget: true, authority: true, need: true, timeline: true },
      proposals: 0,
      negotiationRounds: 0,
      followUps: 0,
    });
  });

  it('reads a v2 payload with the one remaining step', () => {
    const upcaster = new EventUpcaster([nestContactAndMoney, addSource], versions);
    expect(upcaster.toCurrent('LeadCaptured', 2, leadCapturedV2, occurredAt).data).toEqual(leadCapturedV3);
  });

  it('passes a payload of the current version through unchanged, without running any step', () => {
    const neverCalled = jest.fn();
    const upcaster = new EventUpcaster(
      [{ type: 'LeadCaptured', fromVersion: 2, upcast: neverCalled }],
      versions,
    );

    const event = upcaster.toCurrent('LeadCaptured', 3, leadCapturedV3, occurredAt);

    expect(event).toEqual({ type: 'LeadCaptured', data: leadCapturedV3, occurredAt });
    expect(neverCalled).not.toHaveBeenCalled();
  });

  it('reads every event type written today as is with the default versions', () => {
    const upcaster = new EventUpcaster();
    const capture = { ...leadCapturedV3 };
    const event = upcaster.toCurrent('LeadCaptured', currentSchemaVersions.LeadCaptured, capture, occurredAt);
    expect(event.data).toEqual(capture);
    expect(evolve(initialDealState, event)).toMatchObject({ exists: true, stage: 'lead', source: 'unknown' });
  });

  it('refuses a schema version newer than this build reads', () => {
    const upcaster = new EventUpcaster([nestContactAndMoney, addSource], versions);
    expect(() => upcaster.toCurrent('LeadCaptured', 4, leadCapturedV3, occurredAt)).toThrow(UnknownEventError);
    expect(() => upcaster.toCurrent('Qualified', 2, {}, occurredAt)).toThrow(/Qualified has schema version 2/);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a schema version that is not a version (%p)', (version) => {
    const upcaster = new EventUpcaster([nestContactAndMoney, addSource], versions);
    expect(() => upcaster.toCurrent('LeadCaptured', version, leadCapturedV1, occurredAt)).toThrow(UnknownEventError);
  });

  it('refuses an old payload when a step of the way is missing', () => {
    const upcaster = new EventUpcaster([addSource], versions);
    expect(() => upcaster.toCurrent('LeadCaptured', 1, leadCapturedV1, occurredAt)).toThrow(
      new UnknownEventError('No upcaster for LeadCaptured from schema version 1'),
    );
    // The steps it has still work.
    expect(upcaster.toCurrent('LeadCaptured', 2, leadCapturedV2, occurredAt).data).toEqual(leadCapturedV3);
  });

  it('does not use a step registered for another event type', () => {
    const upcaster = new EventUpcaster([nestContactAndMoney, addSource], { ...currentSchemaVersions, Closed: 2 });
    expect(() => upcaster.toCurrent('Closed', 1, { outcome: 'lost', reason: 'x' }, occurredAt)).toThrow(
      UnknownEventError,
    );
  });

  it('refuses an unknown event type', () => {
    const upcaster = new EventUpcaster([nestContactAndMoney, addSource], versions);
    expect(() => upcaster.toCurrent('DealReassigned', 1, { owner: 'carol' }, occurredAt)).toThrow(
      new UnknownEventError('Unknown event type DealReassigned'),
    );
  });
});
