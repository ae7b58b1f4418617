import { dealEventTypes, type DealEventType } from '@deals/domain';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsUUID, Matches, MaxLength } from 'class-validator';
import { IsIsoTime, IsText, OptionalNotNull, PageSize } from '../../http/validators';
import { type AuditTimeField, auditTimeFields } from '@deals/projections';

export const listFormats = ['json', 'csv', 'jsonl'] as const;
export type ListFormat = (typeof listFormats)[number];

export const maxPageSize = 500;
export const defaultPageSize = 100;

/** Deal ids are stored in lower case. */
const lowerCase = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.toLowerCase() : value);

/** GET /audit query string. Unknown parameters are refused, repeated ones too (they arrive as lists). */
export class ListAuditEntriesRequest {
  @ApiPropertyOptional({ description: 'Only changes made by this actor (the API key\'s actor)', example: 'sam.sales', maxLength: 100 })
  @OptionalNotNull()
  @IsText(100)
  actor?: string;

  @ApiPropertyOptional({ description: 'Only changes to this deal', format: 'uuid' })
  @OptionalNotNull()
  @Transform(lowerCase)
  @IsUUID('all')
  dealId?: string;

  @ApiPropertyOptional({ description: 'Only events of this type', enum: dealEventTypes })
  @OptionalNotNull()
  @IsIn(dealEventTypes)
  type?: DealEventType;

  @ApiPropertyOptional({ description: 'Changes at or after this time (ISO 8601, inclusive)', example: '2026-03-01T00:00:00Z' })
  @OptionalNotNull()
  @IsIsoTime()
  from?: string;

  @ApiPropertyOptional({ description: 'Changes before this time (ISO 8601, exclusive)', example: '2026-04-01T00:00:00Z' })
  @OptionalNotNull()
  @IsIsoTime()
  to?: string;

  @ApiPropertyOptional({
    description: 'Which time from/to bound: recordedAt (when the change was stored, default) or occurredAt (business time)',
    enum: auditTimeFields,
  })
  @OptionalNotNull()
  @IsIn(auditTimeFields)
  timeField?: AuditTimeField;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page, with the same filters (format=json only)' })
  @OptionalNotNull()
  @MaxLength(1024)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor must be a nextCursor this service returned' })
  cursor?: string;

  @ApiPropertyOptional({ description: 'Entries per page (format=json only)', type: 'integer', minimum: 1, maximum: maxPageSize, default: defaultPageSize })
  @OptionalNotNull()
  @PageSize(maxPageSize)
  limit?: number;

  @ApiPropertyOptional({
    description: 'json: one page. csv or jsonl: the whole filtered set, streamed as a download',
    enum: listFormats,
    default: 'json',
  })
  @OptionalNotNull()
  @IsIn(listFormats)
  format?: ListFormat;
}
