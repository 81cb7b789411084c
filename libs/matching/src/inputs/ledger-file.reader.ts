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
export async function readLedgerColumns(
  chunks: AsyncIterable<string | Buffer>,
  format: LedgerFileFormat,
  source = 'ledger',
  options: LedgerColumnsOptions = {},
): Promise<LedgerColumns> {
  const columns = new LedgerColumns();
  const keepDescriptive = options.keepDescriptive ?? true;
  await readLedgerRows(chunks, format, source, columns.entryId, (item) => columns.push(item, keepDescriptive));
  return columns;
}

export interface LedgerColumnsOptions {
  /**
   * false: `subAccount`, `description` and `kind` are validated but not kept. Matching never reads them, and
   * `recon reconcile` hashes the file itself, so a day's million descriptions need not stay in memory. Default true.
   */
  readonly keepDescriptive?: boolean;
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
  const row = new RowFields(source, format, interner);
  const add = (lineNo: number): void => {
    if (count >= LEDGER_ENTRIES_MAX) throw new InputFileError(`${source}: more than ${LEDGER_ENTRIES_MAX} entries`);
    row.lineNo = lineNo;
    addItem(ledgerItemOf(row));
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
      row.object = record as Record<string, unknown>;
      add(lineNo);
    }
    checkUnique();
    return;
  }
  let header: string[] | undefined;
  for await (const rows of csvRows(chunks, LEDGER_LINE_LENGTH_MAX, source)) {
    for (const csvRow of rows) {
      if (header === undefined) {
        header = checkHeader(csvRow.fields, source);
        row.useHeader(header);
        continue;
      }
      if (csvRow.fields.length !== header.length)
        throw new InputFileError(`${source} line ${csvRow.lineNo}: ${csvRow.fields.length} fields, but the header row has ${header.length}`);
      row.fields = csvRow.fields;
      add(csvRow.lineNo);
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

type LedgerKey = (typeof COLUMNS)[number][1];

/**
 * The row being read, for CSV (fields by the header's column positions) and JSONL (an object) alike: one
 * object for the whole file instead of closures per row.
 */
class RowFields {
  lineNo = 0;
  fields: readonly string[] = [];
  object: Record<string, unknown> | undefined;
  private readonly columnAt = new Map<string, number>();

  constructor(
    readonly source: string,
    readonly format: LedgerFileFormat,
    readonly interner: StringInterner,
  ) {}

  useHeader(header: readonly string[]): void {
    header.forEach((name, index) => this.columnAt.set(name, index));
  }

  value(key: LedgerKey): unknown {
    if (this.object !== undefined) return this.object[key];
    const at = this.columnAt.get(key);
    return at === undefined ? undefined : this.fields[at];
  }

  fail(key: LedgerKey, problem: string): never {
    const column = this.format === 'csv' ? (COLUMNS.find(([, camel]) => camel === key)?.[0] ?? key) : key;
    throw new InputFileError(`${this.source} line ${this.lineNo}, column ${column}: ${problem}`);
  }

  /** A trimmed, length-checked text field, or undefined when empty and optional. */
  text(key: LedgerKey, required: boolean, interned: boolean, lengthMax = LEDGER_FIELD_LENGTH_MAX): string | undefined {
    const value = this.value(key);
    if (value === undefined || value === null || value === '') {
      if (required) this.fail(key, 'is empty');
      return undefined;
    }
    if (typeof value !== 'string')
      return this.fail(key, `must be a string, got ${typeof value}${key === 'amount' ? ' (amounts are decimal strings, never JSON numbers)' : ''}`);
    const trimmed = value.trim();
    if (trimmed.length === 0) {
      if (required) this.fail(key, 'is empty');
      return undefined;
    }
    if (trimmed.length > lengthMax) this.fail(key, `is longer than ${lengthMax} characters`);
    return interned ? this.interner.intern(trimmed) : ownString(trimmed);
  }
}

/** Fields whose values repeat across rows (accounts, currencies, dates, kinds, batches) are interned; the rest copied. */
function ledgerItemOf(row: RowFields): LedgerItem {
  const entryId = row.text('entryId', true, false)!;
  const account = row.text('account', true, true)!;
  const currencyText = row.text('currency', true, true)!;
  let currency: string;
  try {
    currency = row.interner.intern(currencyCode(currencyText.toUpperCase()));
  } catch (error: unknown) {
    if (error instanceof UnknownCurrencyError) return row.fail('currency', `'${currencyText}' is not an ISO 4217 currency code`);
    throw error;
  }
  const amountText = row.text('amount', true, false)!;
  let amountMinor: bigint;
  try {
    amountMinor = parseDecimalToMinor(amountText, minorDigitsOf(currency), { allowTrailingZeros: true });
  } catch (error: unknown) {
    if (error instanceof MoneyFormatError) return row.fail('amount', `${error.message} for ${currency}`);
    throw error;
  }
  const valueDate = row.text('valueDate', true, true)!;
  if (!row.interner.isValidDate(valueDate, isIsoDate)) row.fail('valueDate', `'${valueDate}' is not a YYYY-MM-DD date`);
  const bookingDate = row.text('bookingDate', false, true);
  if (bookingDate !== undefined && !isIsoDate(bookingDate)) row.fail('bookingDate', `'${bookingDate}' is not a YYYY-MM-DD date`);
  const reference = row.text('reference', false, false);
  const subAccount = row.text('subAccount', false, false);
  const description = row.text('description', false, false, LEDGER_DESCRIPTION_LENGTH_MAX);
  const kind = row.text('kind', false, true);
  const batchReference = row.text('batchReference', false, true);
  const item: { -readonly [K in keyof LedgerItem]: LedgerItem[K] } = { entryId, account, amountMinor, currency, valueDate };
  if (reference !== undefined) item.reference = reference;
  if (subAccount !== undefined) item.subAccount = subAccount;
  if (bookingDate !== undefined) item.bookingDate = bookingDate;
  if (description !== undefined) item.description = description;
  if (kind !== undefined) item.kind = kind;
  if (batchReference !== undefined) item.batchReference = batchReference;
  return item;
}
