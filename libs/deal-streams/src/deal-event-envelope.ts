import { currentSchemaVersions, type DealEvent, EventUpcaster } from '@deals/domain';
import type { EventToAppend, JsonObject, Position, RecordedEvent } from '@deals/event-store';

export const dealStreamPrefix = 'deal-';

export function dealStreamId(dealId: string): string {
  return `${dealStreamPrefix}${dealId}`;
}

export function dealIdOf(streamId: string): string {
  return streamId.slice(dealStreamPrefix.length);
}

/** Who, when, why and from which request: stored with every event. */
export interface DealEventMetadata {
  readonly schemaVersion: number;
  /** The authenticated caller; never taken from a request body. */
  readonly actor: string;
  readonly commandId: string;
  readonly correlationId: string;
  readonly causationId: string;
  /** Business time (ISO 8601). */
  readonly occurredAt: string;
  /** When the service stored it (ISO 8601). */
  readonly recordedAt: string;
  /** Fingerprint of the request that produced it, present when the request carried an Idempotency-Key. */
  readonly requestHash?: string;
}

export type CommandMetadata = Omit<DealEventMetadata, 'schemaVersion' | 'occurredAt'>;

/** A stored deal event read back as today's schema, with where it sits in the store. */
export interface StoredDealEvent {
  readonly eventId: string;
  readonly dealId: string;
  readonly revision: bigint;
  readonly position: Position;
  /** The event as today's schema reads it (upcast). */
  readonly event: DealEvent;
  /** The payload exactly as it was written, at `metadata.schemaVersion`: what tamper evidence covers. */
  readonly storedData: JsonObject;
  /** As written; `schemaVersion` is the version of `storedData`. */
  readonly metadata: DealEventMetadata;
}

export function toEventToAppend(id: string, event: DealEvent, metadata: CommandMetadata): EventToAppend {
  const stored: DealEventMetadata = {
    schemaVersion: currentSchemaVersions[event.type],
    ...metadata,
    occurredAt: event.occurredAt,
  };
  return { id, type: event.type, data: { ...event.data }, metadata: { ...stored } };
}

export class DealEventReader {
  constructor(private readonly upcaster: EventUpcaster = new EventUpcaster()) {}

  read(recorded: RecordedEvent): StoredDealEvent {
    const metadata = recorded.metadata as unknown as DealEventMetadata;
    const event = this.upcaster.toCurrent(recorded.type, metadata.schemaVersion, recorded.data, metadata.occurredAt);
    return {
      eventId: recorded.id,
      dealId: dealIdOf(recorded.streamId),
      revision: recorded.revision,
      position: recorded.position,
      event,
      storedData: recorded.data,
      metadata,
    };
  }
}
