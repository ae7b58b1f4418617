import type { DealCommandInput } from '../execute-deal-command';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsEmail, IsObject, MaxLength, ValidateNested } from 'class-validator';
import { IsIsoTime, IsText, OptionalNotNull } from '../../http/validators';
import { MoneyRequest } from '../shared/money.request';

export class ContactRequest {
  @ApiProperty({ example: 'Ada Lovelace', maxLength: 200 })
  @IsText(200)
  name!: string;

  @ApiProperty({ example: 'ada@example.com', maxLength: 254 })
  @MaxLength(254)
  @IsEmail()
  email!: string;
}

export class CaptureLeadRequest {
  @ApiProperty({ example: 'Analytics platform rollout', maxLength: 200 })
  @IsText(200)
  title!: string;

  @ApiProperty({ example: 'Acme Corp', maxLength: 200 })
  @IsText(200)
  organization!: string;

  @ApiProperty({ type: ContactRequest })
  @IsObject()
  @ValidateNested()
  @Type(() => ContactRequest)
  contact!: ContactRequest;

  @ApiProperty({ example: 'referral', maxLength: 100, description: 'Where the lead came from' })
  @IsText(100)
  source!: string;

  @ApiProperty({ example: 'jane.doe', maxLength: 100, description: 'The salesperson who owns the deal' })
  @IsText(100)
  owner!: string;

  @ApiProperty({ type: MoneyRequest })
  @IsObject()
  @ValidateNested()
  @Type(() => MoneyRequest)
  estimatedValue!: MoneyRequest;

  @ApiPropertyOptional({ example: '2026-03-01T09:30:00Z', description: 'Business time; default now; may lie in the past' })
  @OptionalNotNull()
  @IsIsoTime()
  occurredAt?: string;

  /** The command this request asks for; the API and the history import both send it. */
  toCommand(): DealCommandInput {
    const { occurredAt, contact, estimatedValue, ...fields } = this;
    return {
      type: 'CaptureLead',
      data: {
        ...fields,
        contact: { name: contact.name, email: contact.email },
        estimatedValue: { amount: estimatedValue.amount, currency: estimatedValue.currency },
      },
      occurredAt,
    };
  }
}
