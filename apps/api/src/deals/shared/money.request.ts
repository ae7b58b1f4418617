import { ApiProperty } from '@nestjs/swagger';
import { IsAmount, IsCurrency, maxAmount } from '../../http/validators';

export class MoneyRequest {
  @ApiProperty({ example: 48000, minimum: 0, maximum: maxAmount })
  @IsAmount()
  amount!: number;

  @ApiProperty({ example: 'EUR', description: 'ISO 4217 code' })
  @IsCurrency()
  currency!: string;
}

/** The OpenAPI shape of a field that takes money or a bare amount in the deal's currency. */
export const moneyOrAmountSchema = {
  oneOf: [
    { type: 'number', minimum: 0, maximum: maxAmount, description: "An amount in the deal's current currency" },
    { $ref: '#/components/schemas/MoneyRequest' },
  ],
};
