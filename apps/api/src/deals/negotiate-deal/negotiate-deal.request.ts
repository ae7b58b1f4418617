import type { DealCommandInput } from '../execute-deal-command';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, Max, Min } from 'class-validator';
import { HasDecimals, IsIsoTime, IsMoneyOrAmount, IsText, OptionalNotNull } from '../../http/validators';
import { moneyOrAmountSchema } from '../shared/money.request';
import { WinProbabilityField } from '../shared/win-probability.field';

/** One round of negotiation; at least one field besides occurredAt. */
export class NegotiateDealRequest {
  @ApiPropertyOptional({ ...moneyOrAmountSchema, example: 47000 })
  @OptionalNotNull()
  @IsMoneyOrAmount()
  counterAmount?: number | { amount: number; currency: string };

  @ApiPropertyOptional({ example: 7.5, minimum: 0, maximum: 100 })
  @OptionalNotNull()
  @HasDecimals(2)
  @Min(0)
  @Max(100)
  discountPercent?: number;

  @ApiPropertyOptional({ type: [String], maxItems: 50, example: ['price too high'] })
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(50)
  @IsText(1000, {}, { each: true })
  objections?: string[];

  @ApiPropertyOptional({ maxLength: 5000 })
  @OptionalNotNull()
  @IsText(5000, { multiline: true })
  notes?: string;

  @WinProbabilityField()
  winProbability?: number;

  @ApiPropertyOptional({ example: '2026-03-20T16:00:00Z' })
  @OptionalNotNull()
  @IsIsoTime()
  occurredAt?: string;

  /** The command this request asks for; the API and the history import both send it. */
  toCommand(): DealCommandInput {
    const { occurredAt, ...data } = this;
    return { type: 'NegotiateDeal', data, occurredAt };
  }
}
