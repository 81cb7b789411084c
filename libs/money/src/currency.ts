/**
 * ISO 4217 currencies and their minor-unit digits ("asset scale", as TigerBeetle calls it).
 * The table is closed: an unknown code is an error, never a silent default of 2 digits.
 */
export type CurrencyCode = string & { readonly __brand: 'CurrencyCode' };

const MINOR_DIGITS_ZERO = 'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF';
const MINOR_DIGITS_THREE = 'BHD IQD JOD KWD LYD OMR TND';
const MINOR_DIGITS_FOUR = 'CLF UYW';
const MINOR_DIGITS_TWO =
  'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF ' +
  'CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD ' +
  'HKD HNL HRK HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT ' +
  'MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD ' +
  'SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS ' +
  'VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL';

function table(): ReadonlyMap<string, number> {
  const entries: [string, number][] = [];
  for (const [codes, digits] of [
    [MINOR_DIGITS_ZERO, 0],
    [MINOR_DIGITS_TWO, 2],
    [MINOR_DIGITS_THREE, 3],
    [MINOR_DIGITS_FOUR, 4],
  ] as const) {
    for (const code of codes.split(' ')) entries.push([code, digits]);
  }
  return new Map(entries);
}

const CURRENCY_MINOR_DIGITS: ReadonlyMap<string, number> = table();

export class UnknownCurrencyError extends Error {
  constructor(readonly code: string) {
    super(`'${code}' is not an ISO 4217 currency code`);
    this.name = 'UnknownCurrencyError';
  }
}

export function isCurrencyCode(code: string): code is CurrencyCode {
  return CURRENCY_MINOR_DIGITS.has(code);
}

/** Validates a currency code; throws UnknownCurrencyError naming the bad code. */
export function currencyCode(code: string): CurrencyCode {
  if (!isCurrencyCode(code)) throw new UnknownCurrencyError(code);
  return code;
}

export function minorDigitsOf(currency: CurrencyCode | string): number {
  const digits = CURRENCY_MINOR_DIGITS.get(currency);
  if (digits === undefined) throw new UnknownCurrencyError(currency);
  return digits;
}

export function allCurrencyCodes(): readonly CurrencyCode[] {
  return [...CURRENCY_MINOR_DIGITS.keys()] as CurrencyCode[];
}
