import { type DealEvent, type DealEventType, isDealEventType } from '../deal/deal-events';

/** The schema version every event type is written with today. Bump it when a payload changes shape. */
export const currentSchemaVersions: Readonly<Record<DealEventType, number>> = {
  LeadCaptured: 1,
  Qualified: 1,
  ProposalSent: 1,
  Negotiated: 1,
  Closed: 1,
  FollowedUp: 1,
};

/** Turns the payload of `type` at `fromVersion` into the payload at `fromVersion + 1`. */
export interface Upcaster {
  readonly type: DealEventType;
  readonly fromVersion: number;
  upcast(data: Readonly<Record<string, unknown>>): Record<string, unknown>;
}

export class UnknownEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownEventError';
  }
}

/**
 * Reads stored events of any past schema version as the current version, one step at a time,
 * so that the decider and projections only ever see today's payloads.
 */
export class EventUpcaster {
  private readonly steps = new Map<string, Upcaster>();

  constructor(
    upcasters: readonly Upcaster[] = [],
    private readonly current: Readonly<Record<DealEventType, number>> = currentSchemaVersions,
  ) {
    for (const upcaster of upcasters) this.steps.set(`${upcaster.type}@${upcaster.fromVersion}`, upcaster);
  }

  toCurrent(type: string, schemaVersion: number, data: unknown, occurredAt: string): DealEvent {
    if (!isDealEventType(type)) throw new UnknownEventError(`Unknown event type ${type}`);
    const target = this.current[type];
    if (!Number.isInteger(schemaVersion) || schemaVersion < 1 || schemaVersion > target) {
      throw new UnknownEventError(`${type} has schema version ${schemaVersion}; this build reads 1 to ${target}`);
    }
    let payload = data as Record<string, unknown>;
    for (let version = schemaVersion; version < target; version++) {
      const step = this.steps.get(`${type}@${version}`);
      if (!step) throw new UnknownEventError(`No upcaster for ${type} from schema version ${version}`);
      payload = step.upcast(payload);
    }
    return { type, data: payload, occurredAt } as unknown as DealEvent;
  }
}
