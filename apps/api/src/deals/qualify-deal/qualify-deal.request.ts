import type { DealCommandInput } from '../execute-deal-command';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean } from 'class-validator';
import { IsIsoTime, IsText, OptionalNotNull } from '../../http/validators';

/** BANT: budget, authority, need, timeline. */
export class QualifyDealRequest {
  @ApiProperty() @IsBoolean() budget!: boolean;
  @ApiProperty() @IsBoolean() authority!: boolean;
  @ApiProperty() @IsBoolean() need!: boolean;
  @ApiProperty() @IsBoolean() timeline!: boolean;

  @ApiPropertyOptional({ maxLength: 5000 })
  @OptionalNotNull()
  @IsText(5000, { multiline: true })
  notes?: string;

  @ApiPropertyOptional({ example: '2026-03-08T14:00:00Z' })
  @OptionalNotNull()
  @IsIsoTime()
  occurredAt?: string;

  /** The command this request asks for; the API and the history import both send it. */
  toCommand(): DealCommandInput {
    const { occurredAt, ...data } = this;
    return { type: 'QualifyDeal', data, occurredAt };
  }
}
