import { DECIMAL_STRING_LENGTH_MAX, Money, MoneyFormatError, isCurrencyCode, minorDigitsOf } from '@recon/money';
import { type XmlNode, childOf, textAt } from './xml-node';

/** A problem that makes one camt entry (or one balance) unusable; becomes a `rejected` record's reason. */
export class CamtFieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CamtFieldError';
  }
}

const ISO_DATE_PREFIX = /^(\d{4})-(\d{2})-(\d{2})/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * The calendar date of a `Dt`/`DtTm` text: the date as the bank wrote it (local date of a DtTm with offset),
 * not converted to UTC, because booking and value dates are calendar dates in the bank's books.
 */
function digitAt(text: string, index: number): number {
  const code = text.charCodeAt(index) - 48;
  return code >= 0 && code <= 9 ? code : -100_000;
}

/** A valid YYYY-MM-DD prefix read without regex or allocation (the hot path), else undefined. */
function fastIsoDate(text: string): string | undefined {
  if (text.length < 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return undefined;
  const year = digitAt(text, 0) * 1000 + digitAt(text, 1) * 100 + digitAt(text, 2) * 10 + digitAt(text, 3);
  const month = digitAt(text, 5) * 10 + digitAt(text, 6);
  const day = digitAt(text, 8) * 10 + digitAt(text, 9);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return text.length === 10 ? text : text.slice(0, 10);
}

export function isoDateOf(text: string, what: string): string {
  const fast = fastIsoDate(text);
  if (fast !== undefined) return fast;
  const match = ISO_DATE_PREFIX.exec(text);
  if (match === null) throw new CamtFieldError(`${what} '${text.slice(0, 40)}' is not a date (YYYY-MM-DD)`);
  const year = Number.parseInt(match[1]!, 10);
  const month = Number.parseInt(match[2]!, 10);
  const day = Number.parseInt(match[3]!, 10);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw new CamtFieldError(`${what} '${match[0]}' is not a calendar date`);
  }
  return match[0];
}

/** Reads a DateAndDateTimeChoice (`<X><Dt>` or `<X><DtTm>`, `Dt` preferred when a bank sends both). */
export function dateChoiceOf(node: XmlNode | undefined, what: string): string | undefined {
  if (node === undefined) return undefined;
  const text = textAt(node, 'Dt') ?? textAt(node, 'DtTm') ?? textAt(node);
  if (text === undefined) throw new CamtFieldError(`${what} has neither Dt nor DtTm`);
  return isoDateOf(text, what);
}

/**
 * Reads an `<Amt Ccy="EUR">12.30</Amt>` as Money. Trailing zeros beyond the currency's minor digits are
 * exact and accepted ("18.150" EUR); real excess precision ("18.155" EUR) is refused, never rounded.
 */
export function moneyOf(amountNode: XmlNode | undefined, what: string): Money {
  if (amountNode === undefined) throw new CamtFieldError(`${what} is missing (Amt)`);
  const currency = amountNode.ccy?.trim();
  if (currency === undefined || currency.length === 0) throw new CamtFieldError(`${what} has no currency (Ccy attribute)`);
  if (!isCurrencyCode(currency)) throw new CamtFieldError(`${what} currency '${currency.slice(0, 10)}' is not an ISO 4217 code`);
  const text = amountNode.text.trim();
  if (text.startsWith('-')) throw new CamtFieldError(`${what} '${text.slice(0, 40)}' is negative; camt gives the direction in CdtDbtInd`);
  try {
    return Money.parse(text, currency, { allowTrailingZeros: true });
  } catch (error: unknown) {
    if (error instanceof MoneyFormatError) throw new CamtFieldError(`${what}: ${error.message} for ${currency}`);
    throw error;
  }
}

export type CreditDebit = 'CRDT' | 'DBIT';

export interface SignedAmount {
  /** Canonical decimal string with exactly the currency's minor digits, signed: credit +, debit −. */
  readonly amount: string;
  readonly currency: string;
}

/**
 * The canonical signed amount of an `<Amt Ccy="…">`. Amounts already written with exactly the currency's
 * minor digits (nearly all of them) are checked character by character and kept as text, which avoids
 * bigint work on the hot path; anything else goes through Money.parse, which pads, strips trailing zeros
 * or refuses with the reason.
 */
export function signedAmountOf(amountNode: XmlNode | undefined, indicator: CreditDebit, what: string): SignedAmount {
  const currency = amountNode?.ccy;
  const text = amountNode?.text;
  if (currency !== undefined && text !== undefined && isCurrencyCode(currency)) {
    const canonical = canonicalDecimalText(text, minorDigitsOf(currency));
    if (canonical !== undefined) {
      const negative = indicator === 'DBIT' && !isZeroDecimal(canonical);
      return { amount: negative ? `-${canonical}` : canonical, currency };
    }
  }
  const money = signed(moneyOf(amountNode, what), indicator);
  return { amount: money.toDecimalString(), currency: money.currency };
}

/** `text` without leading zeros when it is digits, a point and exactly `minorDigits` digits; else undefined. */
function canonicalDecimalText(text: string, minorDigits: number): string | undefined {
  const length = text.length;
  if (length === 0 || length > DECIMAL_STRING_LENGTH_MAX) return undefined;
  const pointIndex = minorDigits === 0 ? length : length - minorDigits - 1;
  if (pointIndex < 1) return undefined;
  if (minorDigits > 0 && text.charCodeAt(pointIndex) !== 46) return undefined;
  let firstSignificant = -1;
  for (let index = 0; index < length; index += 1) {
    if (index === pointIndex) continue;
    const code = text.charCodeAt(index);
    if (code < 48 || code > 57) return undefined;
    if (firstSignificant < 0 && index < pointIndex && code !== 48) firstSignificant = index;
  }
  if (firstSignificant === 0) return text;
  const wholeStart = firstSignificant < 0 ? pointIndex - 1 : firstSignificant;
  return text.slice(wholeStart);
}

function isZeroDecimal(canonical: string): boolean {
  for (let index = 0; index < canonical.length; index += 1) {
    const code = canonical.charCodeAt(index);
    if (code !== 48 && code !== 46) return false;
  }
  return true;
}

export function creditDebitOf(node: XmlNode | undefined, what: string): CreditDebit {
  const indicator = textAt(node, 'CdtDbtInd');
  if (indicator === 'CRDT' || indicator === 'DBIT') return indicator;
  if (indicator === undefined) throw new CamtFieldError(`${what} has no credit/debit indicator (CdtDbtInd)`);
  throw new CamtFieldError(`${what} credit/debit indicator '${indicator.slice(0, 20)}' is neither CRDT nor DBIT`);
}

/** Signs an amount from the account holder's side: credit +, debit −. */
export function signed(amount: Money, indicator: CreditDebit): Money {
  return indicator === 'DBIT' ? amount.negate() : amount;
}

/** Account identifier: IBAN, else the other/proprietary/BBAN identifications older versions allow. */
export function accountIdOf(account: XmlNode | undefined): string | undefined {
  const id = childOf(account, 'Id');
  return textAt(id, 'IBAN') ?? textAt(id, 'Othr', 'Id') ?? textAt(id, 'PrtryAcct', 'Id') ?? textAt(id, 'BBAN') ?? textAt(id, 'UPIC');
}
