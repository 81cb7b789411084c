import { isCurrencyCode, Money } from '@recon/money';
import { z } from 'zod';
import { AMOUNT_LENGTH_MAX, ID_LENGTH_MAX } from './limits';

/** A UTC instant, ISO 8601 with `Z` (no offsets on the wire: one spelling per instant). */
export const instantSchema = z.iso.datetime({ message: 'must be a UTC instant like 2025-01-02T03:04:05.000Z' });
/** A calendar date `YYYY-MM-DD` (value dates, booking dates): never a JS Date. */
export const isoDateSchema = z.iso.date({ message: 'must be a calendar date YYYY-MM-DD' });
export const uuidSchema = z.uuid({ message: 'must be a UUID' });
export const idSchema = z.string().min(1).max(ID_LENGTH_MAX);
export const currencySchema = z.string().refine((code): boolean => isCurrencyCode(code), { message: 'must be an ISO 4217 currency code like EUR' });

export type AmountSign = 'any' | 'positive' | 'non-negative';

/**
 * Money on the wire is a decimal string with exactly the currency's minor digits ("12.30" EUR, "1000" JPY),
 * the canonical spelling Money.toDecimalString() produces: never a JSON number, never "12.3" or "+12.30".
 * Returns the parsed Money, or undefined after adding an issue at `path`.
 */
export function checkAmount(context: z.RefinementCtx, amount: string, currency: string, path: (string | number)[], sign: AmountSign): Money | undefined {
  if (!isCurrencyCode(currency)) return undefined; // the currency field reports its own issue
  let money: Money;
  try {
    money = Money.parse(amount, currency);
  } catch (error) {
    context.addIssue({ code: 'custom', path, message: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
  if (money.toDecimalString() !== amount) {
    context.addIssue({
      code: 'custom',
      path,
      message: `amount '${amount}' must be written '${money.toDecimalString()}' (exactly the ${currency} minor digits)`,
    });
    return undefined;
  }
  if (sign === 'positive' && (money.isZero() || money.isNegative())) {
    context.addIssue({ code: 'custom', path, message: `amount '${amount}' must be greater than zero` });
    return undefined;
  }
  if (sign === 'non-negative' && money.isNegative()) {
    context.addIssue({ code: 'custom', path, message: `amount '${amount}' must not be negative` });
    return undefined;
  }
  return money;
}

/** A decimal-string amount field: shape only; the currency-aware check is done by the enclosing object. */
export const decimalStringSchema = z
  .string()
  .max(AMOUNT_LENGTH_MAX)
  .regex(/^-?\d+(\.\d+)?$/, { message: 'must be a decimal string like "12.30", never a number' });
