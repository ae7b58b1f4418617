/**
 * A small projection and a deal history for the runner's tests, shared with the crash test's child
 * process. The projection uses every kind of change and reads its own documents back, so that a
 * double-counted, skipped or misordered event shows in the result.
 */
import { randomUUID } from 'node:crypto';
import { dealStreamId, type StoredDealEvent, toEventToAppend } from '@deals/deal-streams';
import type { DealEvent } from '@deals/domain';
import type { AppendResult, EventStore } from '@deals/event-store';
import type { ReadModelChange } from '@deals/read-models';
import { eur, followedUp, leadCaptured, lost, negotiated, proposalSent, qualified, won } from '../../pipeline/testing/deal-events';
import type { DocumentReader, DocumentRef, Projection } from '../../projection';

export interface CountedDeal {
  readonly dealId: string;
  /** Every event type of the deal, in order: its length is the number of events counted. */
  readonly types: readonly string[];
  readonly revision: number;
}

export interface CountingNames {
  /** Documents: one per deal. */
  readonly deals: string;
  /** Documents: one per deal not yet closed. */
  readonly open: string;
  /** Counter: events per type. */
  readonly types: string;
  /** Counter: a quarter of each proposal's amount, per currency (fractions that sum exactly). */
  readonly quarters: string;
  /** Index: open deals by last activity. */
  readonly activity: string;
  /** Index: closed deals by closing time. */
  readonly closed: string;
}

export function countingNames(projection: string): CountingNames {
  return {
    deals: `${projection}:deal`,
    open: `${projection}:open`,
    types: `${projection}:types`,
    quarters: `${projection}:quarters`,
    activity: `${projection}:activity`,
    closed: `${projection}:closed`,
  };
}

export function countingProjection(name: string): Projection {
  const names = countingNames(name);
  return {
    name,
    reads(event: StoredDealEvent): readonly DocumentRef[] {
      return [{ collection: names.deals, id: event.dealId }];
    },
    project(stored: StoredDealEvent, documents: DocumentReader): ReadModelChange[] {
      const { dealId, event } = stored;
      const before = documents.get(names.deals, dealId) as CountedDeal | undefined;
      const deal: CountedDeal = { dealId, types: [...(before?.types ?? []), event.type], revision: Number(stored.revision) };
      const score = Date.parse(event.occurredAt);
      const changes: ReadModelChange[] = [
        { kind: 'put', collection: names.deals, id: dealId, document: { ...deal } },
        { kind: 'increment', counter: names.types, field: event.type, by: 1 },
      ];
      switch (event.type) {
        case 'LeadCaptured':
          changes.push({ kind: 'put', collection: names.open, id: dealId, document: { owner: event.data.owner } });
          break;
        case 'ProposalSent':
          changes.push({ kind: 'increment', counter: names.quarters, field: event.data.amount.currency, by: event.data.amount.amount / 4 });
          break;
        case 'Closed':
          changes.push(
            { kind: 'delete', collection: names.open, id: dealId },
            { kind: 'unindex', index: names.activity, member: dealId },
            { kind: 'index', index: names.closed, member: dealId, score },
          );
          return changes;
        default:
          break;
      }
      if (event.type !== 'FollowedUp') changes.push({ kind: 'index', index: names.activity, member: dealId, score });
      return changes;
    },
  };
}

/**
 * The deal's events, a day apart from `start`: capture, qualification, a proposal, four rounds, a close
 * (odd deals are lost) and two follow-ups; every fifth deal is still negotiating after six events.
 */
export function dealEvents(index: number, dealId: string, start: number): DealEvent[] {
  const day = (n: number) => new Date(start + n * 86_400_000).toISOString();
  const amount = 1_000 + (index % 97) * 13 + 0.75;
  const events = [
    leadCaptured(day(0), { dealId, owner: `owner-${index % 7}` }),
    qualified(day(1)),
    proposalSent(day(2), eur(amount)),
    ...[1, 2, 3, 4].map((round) => negotiated(day(2 + round), { round, counterAmount: eur(amount - round) })),
    index % 2 === 0 ? won(day(7), eur(amount - 4)) : lost(day(7)),
    followedUp(day(8)),
    followedUp(day(9)),
  ];
  return index % 5 === 4 ? events.slice(0, 6) : events;
}

export interface History {
  readonly dealIds: readonly string[];
  /** Per deal, its events in order. */
  readonly events: ReadonlyMap<string, readonly DealEvent[]>;
  readonly eventCount: number;
  /** Of the last append. */
  readonly last: AppendResult;
}

/**
 * Appends `deals` deals, `perAppend` events of each deal at a time, interleaving the deals so that a
 * batch holds many deals and several events of each. All appends of a round are issued together, so
 * the store group-commits them: a large history is written in seconds.
 */
export async function writeHistory(
  store: EventStore,
  deals: number,
  options: { readonly start?: number; readonly perAppend?: number } = {},
): Promise<History> {
  const start = options.start ?? Date.UTC(2025, 0, 1);
  const perAppend = options.perAppend ?? 2;
  const dealIds = Array.from({ length: deals }, () => randomUUID());
  const events = new Map(dealIds.map((dealId, index) => [dealId, dealEvents(index, dealId, start + index * 60_000)]));
  const longest = Math.max(...[...events.values()].map((list) => list.length));
  let last: AppendResult | undefined;
  for (let from = 0; from < longest; from += perAppend) {
    const appends = dealIds
      .map((dealId) => ({ dealId, slice: (events.get(dealId) ?? []).slice(from, from + perAppend) }))
      .filter(({ slice }) => slice.length > 0)
      .map(({ dealId, slice }) => appendEvents(store, dealId, slice, from));
    for (const result of await Promise.all(appends)) {
      if (last === undefined || result.position.commit > last.position.commit) last = result;
    }
  }
  if (last === undefined) throw new Error('writeHistory wrote nothing');
  const eventCount = [...events.values()].reduce((sum, list) => sum + list.length, 0);
  return { dealIds, events, eventCount, last };
}

/** Appends events of one deal, expecting the stream to stand at `firstRevision`. */
export function appendEvents(store: EventStore, dealId: string, events: readonly DealEvent[], firstRevision: number): Promise<AppendResult> {
  const commandId = randomUUID();
  return store.appendToStream(
    dealStreamId(dealId),
    events.map((event) =>
      toEventToAppend(randomUUID(), event, {
        actor: 'runner-test',
        commandId,
        correlationId: commandId,
        causationId: commandId,
        recordedAt: new Date().toISOString(),
      }),
    ),
    { expectedRevision: firstRevision === 0 ? 'no_stream' : BigInt(firstRevision - 1) },
  );
}
