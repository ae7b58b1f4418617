import type { DealCommandInput } from '../execute-deal-command';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, ValidateIf } from 'class-validator';
import { type Outcome, outcomes } from '@deals/domain';
import { IsIsoTime, IsMoneyOrAmount, IsText, OptionalNotNull } from '../../http/validators';
import { moneyOrAmountSchema } from '../shared/money.request';

export class CloseDealRequest {
  @ApiProperty({ enum: outcomes })
  @IsIn([...outcomes])
  outcome!: Outcome;

  @ApiPropertyOptional({ ...moneyOrAmountSchema, description: 'Required when won', example: 49500 })
  @ValidateIf((request: CloseDealRequest) => request.outcome === 'won' || request.finalAmount !== undefined)
  @IsMoneyOrAmount({ requiredWhen: 'the outcome is won' })
  finalAmount?: number | { amount: number; currency: string };

  @ApiProperty({ example: 'Best fit on integration; signed for two years', maxLength: 2000 })
  @IsText(2000, { multiline: true })
  reason!: string;

  @ApiPropertyOptional({ example: '2026-04-02T11:00:00Z' })
  @OptionalNotNull()
  @IsIsoTime()
  occurredAt?: string;

  /** The command this request asks for; the API and the history import both send it. */
  toCommand(): DealCommandInput {
    const { occurredAt, ...data } = this;
    return { type: 'CloseDeal', data, occurredAt };
  }
}
