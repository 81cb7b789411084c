import { formatMinorToDecimal, minorDigitsOf } from '@recon/money';

/** Decimal string with exactly the currency's minor digits, as CONTRACT wants amounts in JSON. */
export function decimalOf(amountMinor: bigint, currency: string): string {
  return formatMinorToDecimal(amountMinor, minorDigitsOf(currency));
}

/** For people: "1,000.00 EUR" (thousands grouped, sign kept). */
export function displayMoney(amountMinor: bigint, currency: string): string {
  const decimal = decimalOf(amountMinor, currency);
  const negative = decimal.startsWith('-');
  const unsigned = negative ? decimal.slice(1) : decimal;
  const [whole = '', fraction] = unsigned.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}${grouped}${fraction === undefined ? '' : `.${fraction}`} ${currency}`;
}
