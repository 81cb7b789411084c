/**
 * Exact conversion between decimal strings and bigint minor units. No floating point anywhere.
 */
export class MoneyFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MoneyFormatError';
  }
}

/** Longest decimal string accepted: 38 digits is the NUMERIC(38,0) column limit, plus sign and point. */
export const DECIMAL_STRING_LENGTH_MAX = 40;

const DECIMAL_PATTERN = /^([+-]?)(\d+)(?:\.(\d+))?$/;

export interface ParseDecimalOptions {
  /**
   * Accept more fraction digits than the currency has when the extra ones are zeros ("18.150" EUR).
   * Banks send such amounts; the value is still exact.
   */
  readonly allowTrailingZeros?: boolean;
}

/**
 * Parses "12.3", "-0.05", "1000" into minor units at `minorDigits`. Fewer fraction digits than the
 * currency has are padded ("12.3" EUR is 1230); more are refused unless they are zeros and allowed.
 */
export function parseDecimalToMinor(text: string, minorDigits: number, options: ParseDecimalOptions = {}): bigint {
  if (text.length === 0) throw new MoneyFormatError('amount is empty');
  if (text.length > DECIMAL_STRING_LENGTH_MAX) throw new MoneyFormatError(`amount '${text.slice(0, 20)}…' is too long`);
  const match = DECIMAL_PATTERN.exec(text);
  if (match === null) throw new MoneyFormatError(`amount '${text}' is not a decimal number`);
  const sign = match[1] === '-' ? -1n : 1n;
  const whole = match[2] ?? '0';
  let fraction = match[3] ?? '';
  if (fraction.length > minorDigits) {
    const extra = fraction.slice(minorDigits);
    if (!(options.allowTrailingZeros ?? false) || /[^0]/.test(extra)) {
      throw new MoneyFormatError(`amount '${text}' has more than ${minorDigits} decimal places`);
    }
    fraction = fraction.slice(0, minorDigits);
  }
  const digits = whole + fraction.padEnd(minorDigits, '0');
  return sign * BigInt(digits);
}

/** Formats minor units with exactly `minorDigits` fraction digits: 1230n, 2 → "12.30"; -5n, 2 → "-0.05". */
export function formatMinorToDecimal(amountMinor: bigint, minorDigits: number): string {
  const negative = amountMinor < 0n;
  const digits = (negative ? -amountMinor : amountMinor).toString();
  if (minorDigits === 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(minorDigits + 1, '0');
  const whole = padded.slice(0, padded.length - minorDigits);
  const fraction = padded.slice(padded.length - minorDigits);
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}
