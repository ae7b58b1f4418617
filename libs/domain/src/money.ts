/** An amount in one currency. Amounts are decimal numbers in major units (12.5 = twelve and a half). */
export interface Money {
  readonly amount: number;
  readonly currency: string;
}

/** Either a full money value or a bare amount in the currency the deal already uses. */
export type MoneyInput = Money | number;

const knownCurrencies = new Set<string>(Intl.supportedValuesOf('currency'));

export function isCurrencyCode(value: string): boolean {
  return knownCurrencies.has(value);
}

export function resolveMoney(input: MoneyInput, currentCurrency: string): Money {
  return typeof input === 'number' ? { amount: input, currency: currentCurrency } : input;
}
