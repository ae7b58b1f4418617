import type { DealCommandInput } from '../execute-deal-command';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { WinProbabilityField } from '../shared/win-probability.field';
import { IsAmount, IsCurrency, IsIsoTime, IsText, OptionalNotNull, maxAmount } from '../../http/validators';

export class SendProposalRequest {
  @ApiProperty({ example: 52000, minimum: 0, maximum: maxAmount })
  @IsAmount()
  amount!: number;

  @ApiProperty({ example: 'EUR', description: 'ISO 4217 code' })
  @IsCurrency()
  currency!: string;

  @ApiProperty({ example: '2026-04-30', description: 'Until when the offer stands; not before it is sent' })
  @IsIsoTime()
  validUntil!: string;

  @ApiPropertyOptional({ maxLength: 5000 })
  @OptionalNotNull()
  @IsText(5000, { multiline: true })
  terms?: string;

  @WinProbabilityField()
  winProbability?: number;

  @ApiPropertyOptional({ example: '2026-03-15T10:00:00Z' })
  @OptionalNotNull()
  @IsIsoTime()
  occurredAt?: string;

  /** The command this request asks for; the API and the history import both send it. */
  toCommand(): DealCommandInput {
    const { amount, currency, validUntil, terms, winProbability, occurredAt } = this;
    return {
      type: 'SendProposal',
      data: { amount: { amount, currency }, validUntil: new Date(validUntil).toISOString(), terms, winProbability },
      occurredAt,
    };
  }
}
