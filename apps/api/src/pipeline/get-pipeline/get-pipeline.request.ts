import { type Stage, stages } from '@deals/domain';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, Matches, MaxLength } from 'class-validator';
import { IsText, OptionalNotNull, PageSize } from '../../http/validators';

export const pipelineQueryKeys = ['owner', 'source', 'stage', 'rotting', 'limit', 'cursor'] as const;
export const maxPipelineLimit = 200;
export const defaultPipelineLimit = 50;

/** Only the words true and false are booleans; anything else stays text and fails IsBoolean. */
const trueOrFalse = ({ value }: { value: unknown }): unknown => (value === 'true' ? true : value === 'false' ? false : value);

/** GET /pipeline query string. Unknown parameters are refused, repeated ones too (they arrive as lists). */
export class GetPipelineRequest {
  @ApiPropertyOptional({ description: 'Only deals of this owner (totals and list)', example: 'jane.doe', maxLength: 100 })
  @OptionalNotNull()
  @IsText(100)
  owner?: string;

  @ApiPropertyOptional({ description: 'Only deals from this source (totals and list)', example: 'referral', maxLength: 100 })
  @OptionalNotNull()
  @IsText(100)
  source?: string;

  @ApiPropertyOptional({ description: 'Only this stage (totals and list); without it the list shows the open stages', enum: stages })
  @OptionalNotNull()
  @IsIn(stages)
  stage?: Stage;

  @ApiPropertyOptional({ description: 'List only deals idle for longer than their stage’s rotting limit', enum: ['true', 'false'] })
  @OptionalNotNull()
  @Transform(trueOrFalse)
  @IsBoolean({ message: 'rotting must be true or false' })
  rotting?: boolean;

  @ApiPropertyOptional({ description: 'Deals per page', type: 'integer', minimum: 1, maximum: maxPipelineLimit, default: defaultPipelineLimit })
  @OptionalNotNull()
  @PageSize(maxPipelineLimit)
  limit?: number;

  @ApiPropertyOptional({ description: 'deals.nextCursor of the previous page, sent with the same filters' })
  @OptionalNotNull()
  @MaxLength(1024)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor must be a nextCursor this service returned' })
  cursor?: string;
}
