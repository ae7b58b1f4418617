import { exactObject, number } from '../../http/answer-schema';

export const moneySchema = exactObject({ amount: number, currency: { type: 'string', example: 'EUR' } });
