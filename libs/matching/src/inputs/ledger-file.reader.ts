import { currencyCode, minorDigitsOf, MoneyFormatError, parseDecimalToMinor, UnknownCurrencyError } from '@recon/money';
import { isIsoDate } from '../model/iso-date';
import { LedgerColumns } from '../model/columns';
import type { LedgerItem } from '../model/items';
import { csvRows } from './csv-rows';
import { InputFileError, linesOfChunks } from './input-error';
import { ownString, StringInterner } from './strings';

/** A bound on one run's ledger: beyond it the file is refused rather than exhausting memory. */
export const LEDGER_ENTRIES_MAX = 5_000_000;
export const LEDGER_FIELD_LENGTH_MAX = 256;
export const LEDGER_DESCRIPTION_LENGTH_MAX = 2_048;
const LEDGER_LINE_LENGTH_MAX = 16_384;

export type LedgerFileFormat = 'csv' | 'jsonl';

/** Column names of CONTRACT section 2, CSV spelling → JSONL spelling. */
const COLUMNS = [
  ['entry_id', 'entryId', true],
  ['account', 'account', true],
  ['amount', 'amount', true],
  ['currency', 'currency', true],
  ['value_date', 'valueDate', true],
  ['reference', 'reference', false],
  ['sub_account', 'subAccount', false],
  ['booking_date', 'bookingDate', false],
  ['description', 'description', false],
  ['kind', 'kind', false],
  ['batch_reference', 'batchReference', false],
] as const;

export function ledgerFormatOf(path: string): LedgerFileFormat {
  return /\.(jsonl|ndjson)$/i.test(path) ? 'jsonl' : 'csv';
}

/**
 * Reads the platform's ledger entries (CSV with a header row, or JSONL with the same keys in camelCase).
 * Every row is validated; the first bad one throws InputFileError naming the row and the column.
 */
export async function readLedgerFile(chunks: AsyncIterable<string | Buffer>, format: LedgerFileFormat, source = 'ledger'): Promise<LedgerItem[]> {
  const items: LedgerItem[] = [];
  const ids: string[] = [];
  await readLedgerRows(chunks, format, source, ids, (item) => {
    items.push(item);
    ids.push(item.entryId);
  });
  return items;
}

/**
 * `readLedgerFile` into columns: the same validation and errors, but no object per entry outlives its row.
 * What `recon reconcile` reads a day's ledger with.
 */
export async function readLedgerColumns(chunks: AsyncIterable<string | Buffer>, format: LedgerFileFormat, source = 'ledger'): Promise<LedgerColumns> {
  const columns = new LedgerColumns();
  await readLedgerRows(chunks, format, source, columns.entryId, (item) => columns.push(item));
  return columns;
}

/** `ids` is the list of entry ids read so far, kept up to date by `add` (for the uniqueness check at the end). */
async function readLedgerRows(
  chunks: AsyncIterable<string | Buffer>,
  format: LedgerFileFormat,
  source: string,
  ids: readonly string[],
  addItem: (item: LedgerItem) => void,
): Promise<void> {
  let count = 0;
  const lineNos: number[] = [];
  const interner = new StringInterner();
  const add = (fields: (name: string) => unknown, lineNo: number): void => {
    if (count >= LEDGER_ENTRIES_MAX) throw new InputFileError(`${source}: more than ${LEDGER_ENTRIES_MAX} entries`);
    addItem(ledgerItemOf(fields, lineNo, source, format, interner));
    lineNos.push(lineNo);
    count += 1;
  };
  const checkUnique = (): void => {
    assertUniqueEntryIds(ids, lineNos, source, format === 'csv' ? 'entry_id' : 'entryId');
  };
  if (format === 'jsonl') {
    for await (const { lineNo, text } of linesOfChunks(chunks, LEDGER_LINE_LENGTH_MAX, source)) {
      if (text.trim().length === 0) continue;
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch {
        throw new InputFileError(`${source} line ${lineNo}: not a JSON object`);
      }
      if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new InputFileError(`${source} line ${lineNo}: not a JSON object`);
      const object = record as Record<string, unknown>;
      add((name) => object[name], lineNo);
    }
    checkUnique();
    return;
  }
  let header: string[] | undefined;
  const columnAt = new Map<string, number>();
  for await (const rows of csvRows(chunks, LEDGER_LINE_LENGTH_MAX, source)) {
    for (const row of rows) {
      if (header === undefined) {
        header = checkHeader(row.fields, source);
        header.forEach((name, index) => columnAt.set(name, index));
        continue;
      }
      if (row.fields.length !== header.length)
        throw new InputFileError(`${source} line ${row.lineNo}: ${row.fields.length} fields, but the header row has ${header.length}`);
      const fields = row.fields;
      add((name) => {
        const at = columnAt.get(name);
        return at === undefined ? undefined : fields[at];
      }, row.lineNo);
    }
  }
  if (header === undefined) throw new InputFileError(`${source}: the file is empty (no header row)`);
  checkUnique();
}

/**
 * entry_id must be unique. Checked once at the end through sorted order (ledger files usually come sorted, and
 * a sortedness check is linear) rather than with a map of every id, which costs more memory than the entries.
 */
function assertUniqueEntryIds(ids: readonly string[], lineNos: readonly number[], source: string, column: string): void {
  let order: number[] | undefined;
  for (let index = 1; index < ids.length; index += 1) {
    if (ids[index - 1]! >= ids[index]!) {
      order = ids.map((_, position) => position).sort((a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : lineNos[a]! - lineNos[b]!));
      break;
    }
  }
  for (let position = 1; position < ids.length; position += 1) {
    const previous = order === undefined ? position - 1 : order[position - 1]!;
    const current = order === undefined ? position : order[position]!;
    if (ids[previous] === ids[current]) {
      throw new InputFileError(`${source} line ${lineNos[current]}, column ${column}: '${ids[current]}' is already used on line ${lineNos[previous]}`);
    }
  }
}

function checkHeader(header: string[], source: string): string[] {
  const names = header.map((name) => name.trim().toLowerCase());
  for (const [column, , required] of COLUMNS) {
    if (required && !names.includes(column)) throw new InputFileError(`${source}: header row lacks column '${column}' (found: ${names.join(', ')})`);
  }
  // The reader looks fields up by their JSONL (camelCase) name, so CSV columns are renamed here.
  return names.map((name) => COLUMNS.find(([column]) => column === name)?.[1] ?? name);
}

/** Fields whose values repeat across rows (accounts, dates, kinds, batches) are interned; the rest copied. */
const INTERNED_FIELDS: ReadonlySet<string> = new Set(['account', 'currency', 'valueDate', 'bookingDate', 'kind', 'batchReference']);

function ledgerItemOf(fields: (name: string) => unknown, lineNo: number, source: string, format: LedgerFileFormat, interner: StringInterner): LedgerItem {
  const columnName = (key: string): string => (format === 'csv' ? (COLUMNS.find(([, camel]) => camel === key)?.[0] ?? key) : key);
  const fail = (key: string, problem: string): never => {
    throw new InputFileError(`${source} line ${lineNo}, column ${columnName(key)}: ${problem}`);
  };
  const text = (key: string, required: boolean, lengthMax = LEDGER_FIELD_LENGTH_MAX): string | undefined => {
    const value = fields(key);
    if (value === undefined || value === null || value === '') {
      if (required) fail(key, 'is empty');
      return undefined;
    }
    if (typeof value !== 'string')
      return fail(key, `must be a string, got ${typeof value}${key === 'amount' ? ' (amounts are decimal strings, never JSON numbers)' : ''}`);
    const trimmed = value.trim();
    if (trimmed.length === 0) {
      if (required) fail(key, 'is empty');
      return undefined;
    }
    if (trimmed.length > lengthMax) fail(key, `is longer than ${lengthMax} characters`);
    return INTERNED_FIELDS.has(key) ? interner.intern(trimmed) : ownString(trimmed);
  };
  const entryId = text('entryId', true)!;
  const account = text('account', true)!;
  const currencyText = text('currency', true)!;
  let currency: string;
  try {
    currency = interner.intern(currencyCode(currencyText.toUpperCase()));
  } catch (error: unknown) {
    if (error instanceof UnknownCurrencyError) return fail('currency', `'${currencyText}' is not an ISO 4217 currency code`);
    throw error;
  }
  const amountText = text('amount', true)!;
  let amountMinor: bigint;
  try {
    amountMinor = parseDecimalToMinor(amountText, minorDigitsOf(currency), { allowTrailingZeros: true });
  } catch (error: unknown) {
    if (error instanceof MoneyFormatError) return fail('amount', `${error.message} for ${currency}`);
    throw error;
  }
  const valueDate = text('valueDate', true)!;
  if (!interner.isValidDate(valueDate, isIsoDate)) fail('valueDate', `'${valueDate}' is not a YYYY-MM-DD date`);
  const bookingDate = text('bookingDate', false);
  if (bookingDate !== undefined && !isIsoDate(bookingDate)) fail('bookingDate', `'${bookingDate}' is not a YYYY-MM-DD date`);
  const optional = {
    reference: text('reference', false),
    subAccount: text('subAccount', false),
    bookingDate,
    description: text('description', false, LEDGER_DESCRIPTION_LENGTH_MAX),
    kind: text('kind', false),
    batchReference: text('batchReference', false),
  };
  const item: { -readonly [K in keyof LedgerItem]: LedgerItem[K] } = { entryId, account, amountMinor, currency, valueDate };
  for (const [key, value] of Object.entries(optional) as [keyof typeof optional, string | undefined][]) if (value !== undefined) item[key] = value;
  return item;
}
