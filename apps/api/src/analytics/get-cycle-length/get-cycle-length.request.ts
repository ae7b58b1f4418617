import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { IsIsoTime, OptionalNotNull } from '../../http/validators';
import { type Basis, bases, type GroupBy, groupings } from '@deals/projections';

export const cycleLengthQueryKeys = ['basis', 'groupBy', 'from', 'to', 'asOf'] as const;

/** GET /analytics/cycle-length query string. Unknown parameters are refused, repeated ones too (they arrive as lists). */
export class GetCycleLengthRequest {
  @ApiPropertyOptional({
    description:
      'cohort: the deals captured in [from, to), followed up to asOf. period: what happened in [from, to) — closes, stage entries and exits in the window. ' +
      'Default cohort.',
    enum: bases,
    default: 'cohort',
  })
  @OptionalNotNull()
  @IsIn(bases)
  basis?: Basis;

  @ApiPropertyOptional({ description: 'Add one block of figures per owner, source or capture month (UTC, YYYY-MM)', enum: groupings })
  @OptionalNotNull()
  @IsIn(groupings)
  groupBy?: GroupBy;

  @ApiPropertyOptional({ description: 'Window start, inclusive (ISO 8601; a date alone is midnight UTC)', example: '2026-01-01' })
  @OptionalNotNull()
  @IsIsoTime()
  from?: string;

  @ApiPropertyOptional({ description: 'Window end, exclusive (ISO 8601; a date alone is midnight UTC)', example: '2026-04-01' })
  @OptionalNotNull()
  @IsIsoTime()
  to?: string;

  @ApiPropertyOptional({ description: 'Answer as the numbers stood at this instant, from events with occurredAt up to it (inclusive). Default now', example: '2026-03-31T23:59:59Z' })
  @OptionalNotNull()
  @IsIsoTime()
  asOf?: string;
}
