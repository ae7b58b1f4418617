import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyReply } from 'fastify';
import {
  type CommandContext,
  type DealCommandInput,
  ExecuteDealCommand,
} from '../execute-deal-command';

export interface CommandAnswer {
  readonly dealId: string;
  readonly version: number;
  readonly stage: string;
}

/** Sends a deal command through the CommandBus and shapes the answer: body, ETag, replay marker. */
@Injectable()
export class DealCommandDispatcher {
  constructor(private readonly commandBus: CommandBus) {}

  async dispatch(
    dealId: string | undefined,
    input: DealCommandInput,
    context: CommandContext,
    reply: FastifyReply,
  ): Promise<CommandAnswer> {
    const result = await this.commandBus.execute(new ExecuteDealCommand(dealId, input, context));
    void reply.header('etag', `"${result.version}"`);
    if (result.replayed) void reply.header('idempotent-replayed', 'true');
    return { dealId: result.dealId, version: result.version, stage: result.stage };
  }
}

