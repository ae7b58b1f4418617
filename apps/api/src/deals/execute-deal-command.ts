import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CaptureLead, type DealCommand, DealRefused, decide, type Stage } from '@deals/domain';
import { type CommandMetadata, dealStreamId, toEventToAppend } from '@deals/deal-streams';
import { type EventStore, WrongExpectedRevisionError } from '@deals/event-store';
import { type IdempotencyStore } from '@deals/idempotency';
import { Clock, KeyedMutex } from '@deals/platform';
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { parse as parseUuid, v5 as uuidv5 } from 'uuid';
import { ApiError } from '../http/api-error';
import { EVENT_STORE, IDEMPOTENCY_STORE } from '../infrastructure/tokens';
import { type CommandOutcome, DealRepository, type LoadedDeal } from './deal-repository';

type WithOptionalTime<C> = C extends unknown ? Omit<C, 'occurredAt'> & { readonly occurredAt?: string | undefined } : never;

/** A deal command as the HTTP edge hands it over: `occurredAt` defaults to now, a new deal's id is given here. */
export type DealCommandInput =
  | WithOptionalTime<Omit<CaptureLead, 'data'> & { readonly data: Omit<CaptureLead['data'], 'dealId'> }>
  | WithOptionalTime<Exclude<DealCommand, CaptureLead>>;

function toCommand(input: DealCommandInput, dealId: string, occurredAt: string): DealCommand {
  return input.type === 'CaptureLead'
    ? { ...input, data: { dealId, ...input.data }, occurredAt }
    : { ...input, occurredAt };
}

export interface CommandContext {
  readonly actor: string;
  readonly correlationId: string;
  readonly causationId?: string;
  readonly idempotencyKey?: string;
  /** Fingerprint of the request (method, path, body), used with the idempotency key. */
  readonly requestHash: string;
  /** The version the client last saw (If-Match); absent means "apply to whatever is current". */
  readonly expectedVersion?: bigint;
}

export interface DealCommandResult {
  readonly dealId: string;
  readonly version: number;
  readonly stage: Stage;
  /** True when this answers a retried request from the first outcome. */
  readonly replayed: boolean;
}

export class ExecuteDealCommand extends Command<DealCommandResult> {
  constructor(
    /** Absent for a capture: the deal gets a new id. */
    readonly dealId: string | undefined,
    readonly input: DealCommandInput,
    readonly context: CommandContext,
  ) {
    super();
  }
}

/** Namespace of the UUIDs derived from idempotency keys (a fixed, random UUID), parsed once. */
const idempotencyNamespace = parseUuid('6f1f7c52-3f0e-4a53-9a43-5b8f1d0c2e71');

/** A name-based (v5) UUID; names and namespaces go in as bytes, which spares uuid its slow text conversions. */
function nameBasedUuid(name: string, namespace: Uint8Array): string {
  return uuidv5(Buffer.from(name), namespace);
}
/** How long a command keeps retrying while other writers keep changing its deal. */
const retryBudgetMs = 3_000;

/** Exponential backoff with full jitter: up to 2, 4, 8, ... ms, capped at 100 ms per wait. */
function retryDelayMs(attempt: number): number {
  return Math.random() * Math.min(100, 2 ** attempt);
}

@CommandHandler(ExecuteDealCommand)
export class ExecuteDealCommandHandler implements ICommandHandler<ExecuteDealCommand, DealCommandResult> {
  private readonly perDeal = new KeyedMutex();

  constructor(
    private readonly deals: DealRepository,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(IDEMPOTENCY_STORE) private readonly idempotency: IdempotencyStore,
    private readonly clock: Clock,
  ) {}

  async execute({ dealId: givenDealId, input, context }: ExecuteDealCommand): Promise<DealCommandResult> {
    const { dealId, commandId, claimedBefore } = await this.identify(givenDealId, context);
    return this.perDeal.run(dealId, () => this.decideAndAppend(dealId, commandId, claimedBefore, input, context));
  }

  /**
   * With an Idempotency-Key, the command id (and a new deal's id) derive from the key, so even a
   * retry after a crash finds the first outcome in the deal's stream.
   */
  private async identify(givenDealId: string | undefined, context: CommandContext) {
    if (context.idempotencyKey === undefined) {
      return { dealId: givenDealId ?? randomUUID(), commandId: randomUUID(), claimedBefore: false };
    }
    const name = `${context.actor}\n${context.idempotencyKey}`;
    const commandId = nameBasedUuid(`command\n${name}`, idempotencyNamespace);
    const dealId = givenDealId ?? nameBasedUuid(`deal\n${name}`, idempotencyNamespace);
    const { claim, created } = await this.idempotency.claim(context.actor, context.idempotencyKey, {
      requestHash: context.requestHash,
      dealId,
      commandId,
    });
    if (claim.requestHash !== context.requestHash) throw keyReused();
    return { dealId, commandId, claimedBefore: !created };
  }

  private async decideAndAppend(
    dealId: string,
    commandId: string,
    claimedBefore: boolean,
    input: DealCommandInput,
    context: CommandContext,
  ): Promise<DealCommandResult> {
    const started = performance.now();
    let deal = await this.deals.load(dealId);
    // A retry whose first attempt another instance served finds a stale cache here: without the
    // reload its append would land as an idempotent no-op and answer as if new, not as a replay.
    const staleForRetry = claimedBefore && !deal.outcomes.has(commandId);
    if (staleForRetry || (context.expectedVersion !== undefined && deal.version !== context.expectedVersion)) {
      deal = await this.deals.refresh(dealId);
    }
    for (let attempt = 1; ; attempt++) {
      const earlier = deal.outcomes.get(commandId);
      if (earlier) return replay(dealId, earlier, context);
      if (!deal.state.exists && input.type !== 'CaptureLead') {
        throw new DealRefused('DEAL_NOT_FOUND', 'No deal with this id has been captured');
      }
      if (context.expectedVersion !== undefined && deal.version !== context.expectedVersion) {
        throw versionConflict(context.expectedVersion, deal.version);
      }
      const now = this.clock.now();
      const command = toCommand(input, dealId, normalizeTime(input.occurredAt) ?? now.toISOString());
      const events = decide(command, deal.state, { now });
      const metadata: CommandMetadata = {
        actor: context.actor,
        commandId,
        correlationId: context.correlationId,
        causationId: context.causationId ?? commandId,
        recordedAt: now.toISOString(),
        ...(context.idempotencyKey === undefined ? {} : { requestHash: context.requestHash }),
      };
      // Deterministic ids make an append retried after an unknown outcome a no-op in the store.
      const commandNamespace = parseUuid(commandId);
      const eventIds = events.map((_, index) => nameBasedUuid(String(index), commandNamespace));
      try {
        const result = await this.store.appendToStream(
          dealStreamId(dealId),
          events.map((event, index) => toEventToAppend(eventIds[index]!, event, metadata)),
          { expectedRevision: deal.version < 0n ? 'no_stream' : deal.version },
        );
        deal = this.deals.appended(deal, events, metadata);
        if (deal.version !== result.nextExpectedRevision) deal = await this.deals.refresh(dealId);
        return answer(dealId, deal, false);
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        // With If-Match, the reload below ends in VERSION_CONFLICT: no reason to wait.
        if (context.expectedVersion === undefined) {
          // Back off before retrying: the writer that just won has the deal warm and would otherwise win
          // every immediate rematch (seen with two instances on one store), starving this command. A
          // time budget rather than a fixed count of attempts, so a burst on one deal does not fail it.
          const delay = retryDelayMs(attempt);
          if (performance.now() - started + delay > retryBudgetMs) {
            throw new ApiError(409, 'CONCURRENCY_CONFLICT', 'The deal kept changing under this command; try again', {
              attempts: attempt,
            });
          }
          await sleep(delay);
        }
        deal = await this.deals.refresh(dealId);
      }
    }
  }
}

function answer(dealId: string, deal: LoadedDeal, replayed: boolean): DealCommandResult {
  if (!deal.state.exists) throw new DealRefused('DEAL_NOT_FOUND', 'No deal with this id has been captured');
  return { dealId, version: Number(deal.version), stage: deal.state.stage, replayed };
}

function replay(dealId: string, earlier: CommandOutcome, context: CommandContext): DealCommandResult {
  if (earlier.requestHash !== undefined && earlier.requestHash !== context.requestHash) throw keyReused();
  return { dealId, version: Number(earlier.version), stage: earlier.stage, replayed: true };
}

function keyReused(): ApiError {
  return new ApiError(
    422,
    'IDEMPOTENCY_KEY_REUSED',
    'This Idempotency-Key was first used with a different request; use a new key for a new request',
  );
}

function versionConflict(expected: bigint, actual: bigint): ApiError {
  return new ApiError(409, 'VERSION_CONFLICT', 'The deal has changed since the version given in If-Match', {
    expectedVersion: Number(expected),
    currentVersion: actual < 0n ? null : Number(actual),
  });
}

function normalizeTime(value: string | undefined): string | undefined {
  return value === undefined ? undefined : new Date(value).toISOString();
}
