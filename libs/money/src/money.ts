import { type CurrencyCode, currencyCode, minorDigitsOf } from './currency';
import { formatMinorToDecimal, parseDecimalToMinor, type ParseDecimalOptions } from './decimal';

export class CurrencyMismatchError extends Error {
  constructor(
    readonly left: CurrencyCode,
    readonly right: CurrencyCode,
  ) {
    super(`currency mismatch: ${left} and ${right}`);
    this.name = 'CurrencyMismatchError';
  }
}

export type RoundingMode = 'floor' | 'ceil' | 'half-even' | 'half-up' | 'truncate';

/**
 * An exact amount of one currency: a bigint count of minor units. Immutable; arithmetic only within one
 * currency. Serialised as a decimal string with exactly the currency's minor digits.
 */
export class Money {
  private constructor(
    readonly amountMinor: bigint,
    readonly currency: CurrencyCode,
  ) {}

  static of(amountMinor: bigint, currency: CurrencyCode | string): Money {
    if (typeof amountMinor !== 'bigint') throw new TypeError('amountMinor must be a bigint');
    return new Money(amountMinor, currencyCode(currency));
  }

  static zero(currency: CurrencyCode | string): Money {
    return Money.of(0n, currency);
  }

  /** Parses a decimal string ("12.30", "-0.05", "1000") in `currency`; throws MoneyFormatError naming the text. */
  static parse(decimal: string, currency: CurrencyCode | string, options?: ParseDecimalOptions): Money {
    const code = currencyCode(currency);
    return new Money(parseDecimalToMinor(decimal, minorDigitsOf(code), options), code);
  }

  static sum(items: readonly Money[], currency: CurrencyCode | string): Money {
    let total = Money.zero(currency);
    for (const item of items) total = total.add(item);
    return total;
  }

  get minorDigits(): number {
    return minorDigitsOf(this.currency);
  }

  toDecimalString(): string {
    return formatMinorToDecimal(this.amountMinor, this.minorDigits);
  }

  toString(): string {
    return `${this.toDecimalString()} ${this.currency}`;
  }

  toJSON(): { amount: string; currency: string } {
    return { amount: this.toDecimalString(), currency: this.currency };
  }

  add(other: Money): Money {
    this.assertSameCurrency(other);
    return new Money(this.amountMinor + other.amountMinor, this.currency);
  }

  subtract(other: Money): Money {
    this.assertSameCurrency(other);
    return new Money(this.amountMinor - other.amountMinor, this.currency);
  }

  negate(): Money {
    return new Money(-this.amountMinor, this.currency);
  }

  abs(): Money {
    return this.amountMinor < 0n ? this.negate() : this;
  }

  /** Multiplies by an integer factor; exact. */
  multiply(factor: bigint): Money {
    return new Money(this.amountMinor * factor, this.currency);
  }

  /** Divides by an integer divisor with an explicit rounding mode, the only division there is. */
  divide(divisor: bigint, rounding: RoundingMode): Money {
    return new Money(divideRounded(this.amountMinor, divisor, rounding), this.currency);
  }

  compare(other: Money): -1 | 0 | 1 {
    this.assertSameCurrency(other);
    if (this.amountMinor < other.amountMinor) return -1;
    if (this.amountMinor > other.amountMinor) return 1;
    return 0;
  }

  equals(other: Money): boolean {
    return this.currency === other.currency && this.amountMinor === other.amountMinor;
  }

  isZero(): boolean {
    return this.amountMinor === 0n;
  }

  isNegative(): boolean {
    return this.amountMinor < 0n;
  }

  isPositive(): boolean {
    return this.amountMinor > 0n;
  }

  /**
   * Splits the amount in proportion to non-negative integer `ratios` without losing a minor unit:
   * the parts always sum to the whole. Remainders go to the largest fractional shares first,
   * ties to the earlier part, so the result is deterministic.
   */
  allocate(ratios: readonly bigint[]): Money[] {
    if (ratios.length === 0) throw new RangeError('allocate needs at least one ratio');
    let ratioTotal = 0n;
    for (const ratio of ratios) {
      if (ratio < 0n) throw new RangeError('allocation ratios must not be negative');
      ratioTotal += ratio;
    }
    if (ratioTotal === 0n) throw new RangeError('allocation ratios must not all be zero');
    const negative = this.amountMinor < 0n;
    const whole = negative ? -this.amountMinor : this.amountMinor;
    const shares = ratios.map((ratio) => (whole * ratio) / ratioTotal);
    const remainders = ratios.map((ratio, index) => ({ index, remainder: (whole * ratio) % ratioTotal }));
    let leftover = whole - shares.reduce((total, share) => total + share, 0n);
    remainders.sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
    for (const { index } of remainders) {
      if (leftover === 0n) break;
      shares[index] = (shares[index] ?? 0n) + 1n;
      leftover -= 1n;
    }
    return shares.map((share) => new Money(negative ? -share : share, this.currency));
  }

  private assertSameCurrency(other: Money): void {
    if (other.currency !== this.currency) throw new CurrencyMismatchError(this.currency, other.currency);
  }
}

export function divideRounded(dividend: bigint, divisor: bigint, rounding: RoundingMode): bigint {
  if (divisor === 0n) throw new RangeError('division by zero');
  const quotient = dividend / divisor; // truncates toward zero
  const remainder = dividend % divisor;
  if (remainder === 0n || rounding === 'truncate') return quotient;
  const positive = dividend < 0n === divisor < 0n;
  switch (rounding) {
    case 'floor':
      return positive ? quotient : quotient - 1n;
    case 'ceil':
      return positive ? quotient + 1n : quotient;
    case 'half-up':
    case 'half-even': {
      const twiceRemainder = (remainder < 0n ? -remainder : remainder) * 2n;
      const absDivisor = divisor < 0n ? -divisor : divisor;
      const awayFromZero = positive ? quotient + 1n : quotient - 1n;
      if (twiceRemainder > absDivisor) return awayFromZero;
      if (twiceRemainder < absDivisor) return quotient;
      if (rounding === 'half-up') return awayFromZero;
      return quotient % 2n === 0n ? quotient : awayFromZero;
    }
  }
}
