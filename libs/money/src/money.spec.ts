import fc from 'fast-check';
import { allCurrencyCodes, currencyCode, minorDigitsOf, UnknownCurrencyError } from './currency';
import { formatMinorToDecimal, MoneyFormatError, parseDecimalToMinor } from './decimal';
import { CurrencyMismatchError, divideRounded, Money } from './money';

const currencies = fc.constantFrom(...allCurrencyCodes());
const minorAmounts = fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n });

describe(Money.name, () => {
  describe('parse and format', () => {
    it.each([
      ['12.30', 'EUR', 1230n, '12.30'],
      ['12.3', 'EUR', 1230n, '12.30'],
      ['-0.05', 'USD', -5n, '-0.05'],
      ['1000', 'JPY', 1000n, '1000'],
      ['1.234', 'KWD', 1234n, '1.234'],
      ['0', 'EUR', 0n, '0.00'],
      ['+7', 'EUR', 700n, '7.00'],
    ])('parses %s %s exactly', (text, currency, minor, formatted) => {
      const money = Money.parse(text, currency);
      expect(money.amountMinor).toBe(minor);
      expect(money.toDecimalString()).toBe(formatted);
    });

    it.each(['12,30', '1e3', '', '.5', '5.', '--1', '12.3.4', ' 1', 'NaN', '0x10'])('refuses %p with a message naming it', (text) => {
      expect(() => Money.parse(text, 'EUR')).toThrow(MoneyFormatError);
    });

    it('refuses more decimals than the currency has', () => {
      expect(() => Money.parse('1.001', 'EUR')).toThrow("amount '1.001' has more than 2 decimal places");
      expect(() => Money.parse('1.5', 'JPY')).toThrow(MoneyFormatError);
    });

    it('accepts extra trailing zeros only when asked', () => {
      expect(() => Money.parse('18.150', 'EUR')).toThrow(MoneyFormatError);
      expect(Money.parse('18.150', 'EUR', { allowTrailingZeros: true }).amountMinor).toBe(1815n);
      expect(() => Money.parse('18.155', 'EUR', { allowTrailingZeros: true })).toThrow(MoneyFormatError);
    });

    it('refuses unknown currencies', () => {
      expect(() => Money.parse('1.00', 'EUX')).toThrow(UnknownCurrencyError);
      expect(() => currencyCode('eur')).toThrow("'eur' is not an ISO 4217 currency code");
    });

    it('knows the exponents that differ from 2', () => {
      expect(minorDigitsOf('JPY')).toBe(0);
      expect(minorDigitsOf('KRW')).toBe(0);
      expect(minorDigitsOf('BHD')).toBe(3);
      expect(minorDigitsOf('CLF')).toBe(4);
      expect(minorDigitsOf('CNY')).toBe(2);
    });

    it('round-trips every amount in every currency', () => {
      fc.assert(
        fc.property(minorAmounts, currencies, (minor, currency) => {
          const text = Money.of(minor, currency).toDecimalString();
          expect(Money.parse(text, currency).amountMinor).toBe(minor);
          expect(text.split('.')[1]?.length ?? 0).toBe(minorDigitsOf(currency));
        }),
      );
    });

    it('format and parse of minor units are inverse', () => {
      fc.assert(
        fc.property(minorAmounts, fc.integer({ min: 0, max: 6 }), (minor, digits) => {
          expect(parseDecimalToMinor(formatMinorToDecimal(minor, digits), digits)).toBe(minor);
        }),
      );
    });
  });

  describe('arithmetic', () => {
    const money = (currency: string) => minorAmounts.map((minor) => Money.of(minor, currency));

    it('addition is commutative and associative, zero is neutral', () => {
      fc.assert(
        fc.property(money('EUR'), money('EUR'), money('EUR'), (a, b, c) => {
          expect(a.add(b).equals(b.add(a))).toBe(true);
          expect(
            a
              .add(b)
              .add(c)
              .equals(a.add(b.add(c))),
          ).toBe(true);
          expect(a.add(Money.zero('EUR')).equals(a)).toBe(true);
        }),
      );
    });

    it('subtraction undoes addition and negation is an involution', () => {
      fc.assert(
        fc.property(money('USD'), money('USD'), (a, b) => {
          expect(a.add(b).subtract(b).equals(a)).toBe(true);
          expect(a.negate().negate().equals(a)).toBe(true);
          expect(a.subtract(a).isZero()).toBe(true);
        }),
      );
    });

    it('compare is consistent with subtraction', () => {
      fc.assert(
        fc.property(money('EUR'), money('EUR'), (a, b) => {
          const difference = a.subtract(b);
          expect(a.compare(b)).toBe(difference.isZero() ? 0 : difference.isNegative() ? -1 : 1);
        }),
      );
    });

    it('never mixes currencies', () => {
      const eur = Money.parse('1.00', 'EUR');
      const usd = Money.parse('1.00', 'USD');
      expect(() => eur.add(usd)).toThrow(CurrencyMismatchError);
      expect(() => eur.subtract(usd)).toThrow('currency mismatch: EUR and USD');
      expect(() => eur.compare(usd)).toThrow(CurrencyMismatchError);
      expect(eur.equals(usd)).toBe(false);
    });

    it('refuses a number where a bigint belongs', () => {
      expect(() => Money.of(1 as unknown as bigint, 'EUR')).toThrow(TypeError);
    });
  });

  describe('allocate', () => {
    it('splits 100.00 in three without losing a cent', () => {
      const parts = Money.parse('100.00', 'EUR').allocate([1n, 1n, 1n]);
      expect(parts.map((part) => part.toDecimalString())).toEqual(['33.34', '33.33', '33.33']);
    });

    it('always sums to the whole and stays within one unit of the exact share', () => {
      fc.assert(
        fc.property(
          minorAmounts,
          fc.array(fc.bigInt({ min: 0n, max: 1000n }), { minLength: 1, maxLength: 20 }).filter((r) => r.some((x) => x > 0n)),
          (minor, ratios) => {
            const whole = Money.of(minor, 'EUR');
            const parts = whole.allocate(ratios);
            expect(Money.sum(parts, 'EUR').equals(whole)).toBe(true);
            const total = ratios.reduce((a, b) => a + b, 0n);
            parts.forEach((part, index) => {
              const exactTimesTotal = minor * (ratios[index] ?? 0n);
              const deviation = part.amountMinor * total - exactTimesTotal;
              expect(deviation < 0n ? -deviation : deviation).toBeLessThan(total);
            });
          },
        ),
      );
    });

    it('refuses empty, negative and all-zero ratios', () => {
      const money = Money.parse('1.00', 'EUR');
      expect(() => money.allocate([])).toThrow(RangeError);
      expect(() => money.allocate([1n, -1n])).toThrow(RangeError);
      expect(() => money.allocate([0n, 0n])).toThrow(RangeError);
    });
  });

  describe(divideRounded.name, () => {
    it.each([
      [5n, 2n, 'half-even', 2n],
      [7n, 2n, 'half-even', 4n],
      [-5n, 2n, 'half-even', -2n],
      [5n, 2n, 'half-up', 3n],
      [-5n, 2n, 'half-up', -3n],
      [-7n, 2n, 'floor', -4n],
      [-7n, 2n, 'ceil', -3n],
      [7n, 2n, 'truncate', 3n],
      [10n, 3n, 'half-even', 3n],
    ] as const)('%d / %d rounded %s is %d', (dividend, divisor, mode, expected) => {
      expect(divideRounded(dividend, divisor, mode)).toBe(expected);
    });

    it('floor and ceil bracket the exact quotient', () => {
      fc.assert(
        fc.property(minorAmounts, fc.bigInt({ min: 1n, max: 10n ** 6n }), (dividend, divisor) => {
          const floor = divideRounded(dividend, divisor, 'floor');
          const ceil = divideRounded(dividend, divisor, 'ceil');
          expect(floor * divisor <= dividend).toBe(true);
          expect(ceil * divisor >= dividend).toBe(true);
          expect(ceil - floor <= 1n).toBe(true);
        }),
      );
    });
  });
});
