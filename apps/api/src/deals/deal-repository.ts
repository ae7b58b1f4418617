import { type DealEvent, type DealState, evolve, initialDealState, type Stage } from '@deals/domain';
import { DealEventReader, dealStreamId, type StoredDealEvent } from '@deals/deal-streams';
import type { EventStore } from '@deals/event-store';
import { RecentMap } from '@deals/platform';
import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE } from '../infrastructure/tokens';

/** The outcome of one command, as first answered; kept so a retried request is answered the same. */
export interface CommandOutcome {
  readonly version: bigint;
  readonly stage: Stage;
  readonly requestHash?: string;
}

export interface LoadedDeal {
  readonly dealId: string;
  readonly state: DealState;
  /** Revision of the stream's last event; -1n when the stream does not exist. */
  readonly version: bigint;
  readonly outcomes: ReadonlyMap<string, CommandOutcome>;
}

const cacheLimit = 50_000;

/**
 * Loads deals from their streams and keeps recently used ones in memory. A cached deal may be stale
 * when another process wrote to it: the append's expected revision then fails and the caller reloads.
 */
@Injectable()
export class DealRepository {
  private readonly cache = new RecentMap<string, LoadedDeal>(cacheLimit);
  private readonly reader = new DealEventReader();

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /** The cached deal, or the stored one when not cached. */
  async load(dealId: string): Promise<LoadedDeal> {
    return this.cache.get(dealId) ?? this.refresh(dealId);
  }

  /** The deal with every event written since it was cached, whoever wrote it. */
  async refresh(dealId: string): Promise<LoadedDeal> {
    const cached = this.cache.get(dealId) ?? emptyDeal(dealId);
    const newer = this.store.readStream(dealStreamId(dealId), { fromRevision: cached.version + 1n });
    let deal = cached;
    for await (const recorded of newer) {
      const { event, metadata } = this.reader.read(recorded);
      deal = apply(deal, event, metadata);
    }
    return this.remember(deal);
  }

  /** Records events this process has just appended, so the next command needs no read. */
  appended(deal: LoadedDeal, events: readonly DealEvent[], command: CommandRef): LoadedDeal {
    return this.remember(events.reduce((current, event) => apply(current, event, command), deal));
  }

  async history(dealId: string): Promise<StoredDealEvent[]> {
    const events: StoredDealEvent[] = [];
    for await (const recorded of this.store.readStream(dealStreamId(dealId))) events.push(this.reader.read(recorded));
    return events;
  }

  private remember(deal: LoadedDeal): LoadedDeal {
    this.cache.set(deal.dealId, deal);
    return deal;
  }
}

function emptyDeal(dealId: string): LoadedDeal {
  return { dealId, state: initialDealState, version: -1n, outcomes: new Map() };
}

/** Which command an event came from. */
export interface CommandRef {
  readonly commandId: string;
  readonly requestHash?: string;
}

function apply(deal: LoadedDeal, event: DealEvent, { commandId, requestHash }: CommandRef): LoadedDeal {
  const state = evolve(deal.state, event);
  const version = deal.version + 1n;
  const outcomes = new Map(deal.outcomes);
  if (state.exists) outcomes.set(commandId, { version, stage: state.stage, ...(requestHash === undefined ? {} : { requestHash }) });
  return { ...deal, state, version, outcomes };
}
