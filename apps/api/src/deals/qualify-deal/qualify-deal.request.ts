import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';
import { IsIsoTime, IsText } from '../../http/validators';

/** BANT: budget, authority, need, timeline. */
export class QualifyDealRequest {
  @ApiProperty() @IsBoolean() budget!: boolean;
  @ApiProperty() @IsBoolean() authority!: boolean;
  @ApiProperty() @IsBoolean() need!: boolean;
  @ApiProperty() @IsBoolean() timeline!: boolean;

  @ApiPropertyOptional({ maxLength: 5000 })
  @IsOptional()
  @IsText(5000, { multiline: true })
  notes?: string;

  @ApiPropertyOptional({ example: '2026-03-08T14:00:00Z' })
  @IsOptional()
  @IsIsoTime()
  occurredAt?: string;
}
