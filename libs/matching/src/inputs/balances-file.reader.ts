import { parse as parseCsv } from 'csv-parse/sync';
import { currencyCode, minorDigitsOf, MoneyFormatError, parseDecimalToMinor, UnknownCurrencyError } from '@recon/money';
import { isIsoDate } from '../model/iso-date';
import type { LedgerBalance } from '../model/items';
import { InputFileError } from './input-error';

export const BALANCE_ROWS_MAX = 100_000;

/** Reads `--balances`: CSV `account,currency,as_of,balance` with a header row. */
export function readBalancesCsv(text: string, source = 'balances'): LedgerBalance[] {
  let rows: string[][];
  try {
    rows = parseCsv(text, { bom: true, skip_empty_lines: true, relax_column_count: false }) as string[][];
  } catch (error: unknown) {
    throw new InputFileError(`${source}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const header = (rows[0] ?? []).map((name) => name.trim().toLowerCase());
  const column = (name: string): number => {
    const index = header.indexOf(name);
    if (index === -1) throw new InputFileError(`${source}: header row lacks column '${name}' (found: ${header.join(', ')})`);
    return index;
  };
  const [accountAt, currencyAt, asOfAt, balanceAt] = [column('account'), column('currency'), column('as_of'), column('balance')];
  if (rows.length - 1 > BALANCE_ROWS_MAX) throw new InputFileError(`${source}: more than ${BALANCE_ROWS_MAX} rows`);
  const seen = new Set<string>();
  return rows.slice(1).map((row, index) => {
    const line = index + 2;
    const field = (at: number, name: string): string => {
      const value = (row[at] ?? '').trim();
      if (value.length === 0) throw new InputFileError(`${source} line ${line}, column ${name}: is empty`);
      return value;
    };
    const account = field(accountAt, 'account');
    let currency: string;
    try {
      currency = currencyCode(field(currencyAt, 'currency').toUpperCase());
    } catch (error: unknown) {
      if (error instanceof UnknownCurrencyError) throw new InputFileError(`${source} line ${line}, column currency: ${error.message}`);
      throw error;
    }
    const asOf = field(asOfAt, 'as_of');
    if (!isIsoDate(asOf)) throw new InputFileError(`${source} line ${line}, column as_of: '${asOf}' is not a YYYY-MM-DD date`);
    let balanceMinor: bigint;
    try {
      balanceMinor = parseDecimalToMinor(field(balanceAt, 'balance'), minorDigitsOf(currency), { allowTrailingZeros: true });
    } catch (error: unknown) {
      if (error instanceof MoneyFormatError) throw new InputFileError(`${source} line ${line}, column balance: ${error.message}`);
      throw error;
    }
    const key = `${account}|${currency}|${asOf}`;
    if (seen.has(key)) throw new InputFileError(`${source} line ${line}: a second balance for ${account} ${currency} as of ${asOf}`);
    seen.add(key);
    return { account, currency, asOf, balanceMinor };
  });
}
