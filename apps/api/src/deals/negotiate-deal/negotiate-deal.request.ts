import { ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsNumber, IsOptional, Max, Min } from 'class-validator';
import { IsIsoTime, IsMoneyOrAmount, IsText } from '../../http/validators';
import { moneyOrAmountSchema } from '../shared/money.request';

/** One round of negotiation; at least one field besides occurredAt. */
export class NegotiateDealRequest {
  @ApiPropertyOptional({ ...moneyOrAmountSchema, example: 47000 })
  @IsOptional()
  @IsMoneyOrAmount()
  counterAmount?: number | { amount: number; currency: string };

  @ApiPropertyOptional({ example: 7.5, minimum: 0, maximum: 100 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(0)
  @Max(100)
  discountPercent?: number;

  @ApiPropertyOptional({ type: [String], maxItems: 50, example: ['price too high'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsText(1000, {}, { each: true })
  objections?: string[];

  @ApiPropertyOptional({ maxLength: 5000 })
  @IsOptional()
  @IsText(5000, { multiline: true })
  notes?: string;

  @ApiPropertyOptional({ example: '2026-03-20T16:00:00Z' })
  @IsOptional()
  @IsIsoTime()
  occurredAt?: string;
}
