import type { DealCommandInput } from '../execute-deal-command';
import { followUpChannels, type FollowUpChannel } from '@deals/domain';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { IsIsoTime, IsText, OptionalNotNull } from '../../http/validators';

export class RecordFollowUpRequest {
  @ApiProperty({ enum: followUpChannels })
  @IsIn(followUpChannels)
  channel!: FollowUpChannel;

  @ApiProperty({ example: 'Delivery check: onboarding went well; asked for a referral', maxLength: 5000 })
  @IsText(5000, { multiline: true })
  notes!: string;

  @ApiPropertyOptional({ example: '2026-05-02T09:00:00Z' })
  @OptionalNotNull()
  @IsIsoTime()
  occurredAt?: string;

  /** The command this request asks for; the API and the history import both send it. */
  toCommand(): DealCommandInput {
    const { occurredAt, ...data } = this;
    return { type: 'RecordFollowUp', data, occurredAt };
  }
}
