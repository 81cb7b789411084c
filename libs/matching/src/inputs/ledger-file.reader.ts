import { currencyCode, minorDigitsOf, MoneyFormatError, parseDecimalToMinor, UnknownCurrencyError } from '@recon/money';
import { isIsoDate } from '../model/iso-date';
import { LedgerColumns } from '../model/columns';
import type { LedgerItem } from '../model/items';
import { CsvByteRows } from './csv-byte-rows';
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
export async function readLedgerFile(
  chunks: AsyncIterable<string | Buffer>,
  format: LedgerFileFormat,
  source = 'ledger',
  options: LedgerReadOptions = {},
): Promise<LedgerItem[]> {
  const items: LedgerItem[] = [];
  const ids: string[] = [];
  await readLedgerRows(chunks, format, source, ids, true, options, (row) => {
    const item = compactItem(row);
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
  const sizing = options.sizeBytes === undefined ? undefined : { fileBytes: options.sizeBytes, columns };
  await readLedgerRows(chunks, format, source, columns.entryId, keepDescriptive, options, (item) => columns.push(item, keepDescriptive), sizing, options.skip);
  return columns;
}

export interface LedgerReadOptions {
  /**
   * true: CSV is decoded to text and split by `csvRows` (the reader before the byte-level one, kept as the
   * reference the byte-level reader is tested against). Default false: Buffer chunks are read at the byte level
   * (`CsvByteRows`); a stream whose first chunk is a string is always read as text.
   */
  readonly textReader?: boolean;
}

export interface LedgerColumnsOptions extends LedgerReadOptions {
  /**
   * The file's size in bytes, when known: the byte-level reader then sizes the columns once, from the size
   * and the bytes per row of the first chunk, instead of growing them entry by entry.
   */
  readonly sizeBytes?: number;
  /**
   * false: `subAccount`, `description` and `kind` are validated but not kept. Matching never reads them, and
   * `recon reconcile` hashes the file itself, so a day's million descriptions need not stay in memory. Default true.
   */
  readonly keepDescriptive?: boolean;
  /**
   * Entries to leave out, by id: a row whose entry id this returns true for is dropped once its id is read, its other
   * fields neither read nor checked, and it takes no part in the uniqueness check. For a caller that wants only the
   * entries it does not hold already (the service's completeness check against the ledger's export of a day holds
   * nearly all of them: reading only their ids halves the work).
   */
  readonly skip?: (entryId: string) => boolean;
}

/** `ids` is the list of entry ids read so far, kept up to date by `add` (for the uniqueness check at the end). */
async function readLedgerRows(
  chunks: AsyncIterable<string | Buffer>,
  format: LedgerFileFormat,
  source: string,
  ids: readonly string[],
  keepDescriptive: boolean,
  options: LedgerReadOptions,
  addItem: (item: LedgerItem) => void,
  sizing?: ColumnSizing,
  skip?: (entryId: string) => boolean,
): Promise<void> {
  let count = 0;
  const lineNos: number[] = [];
  const interner = new StringInterner();
  const row = new RowFields(source, format, interner, keepDescriptive);
  const add = (lineNo: number): void => {
    if (count >= LEDGER_ENTRIES_MAX) throw new InputFileError(`${source}: more than ${LEDGER_ENTRIES_MAX} entries`);
    count += 1;
    row.lineNo = lineNo;
    if (skip !== undefined && skip(row.text('entryId', true, false)!)) return;
    addItem(ledgerItemOf(row));
    lineNos.push(lineNo);
  };
  const checkUnique = (): void => {
    sizing?.columns.trim();
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
  let textChunks = chunks;
  if (options.textReader !== true) {
    const iterator = chunks[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done !== true && typeof first.value !== 'string') {
      await readCsvBytes(first.value, iterator, row, add, sizing);
      checkUnique();
      return;
    }
    textChunks = replayed(first, iterator);
  }
  let header: string[] | undefined;
  for await (const rows of csvRows(textChunks, LEDGER_LINE_LENGTH_MAX, source)) {
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

/** The CSV rows of Buffer chunks, read at the byte level: the same checks in the same order as through `csvRows`. */
async function readCsvBytes(
  first: Buffer,
  rest: AsyncIterator<string | Buffer>,
  row: RowFields,
  add: (lineNo: number) => void,
  sizing: ColumnSizing | undefined,
): Promise<void> {
  let bytesRead = 0;
  let rowsRead = 0;
  let sized = sizing === undefined;
  // Once a chunk has shown how long rows are: the columns sized for the whole file, with 5% to spare.
  const size = (): void => {
    if (sized || rowsRead < SIZING_ROWS_MIN) return;
    sized = true;
    const estimate = Math.ceil((sizing!.fileBytes / bytesRead) * rowsRead * 1.05) + 1_024;
    sizing!.columns.reserve(Math.min(estimate, LEDGER_ENTRIES_MAX + 1));
  };
  const rows = new CsvByteRows(LEDGER_LINE_LENGTH_MAX, row.source);
  row.rows = rows;
  let header: string[] | undefined;
  const takeRows = (): void => {
    for (let index = 0; index < rows.rowCount; index += 1) {
      const firstField = rows.rowField[index]!;
      const fieldCount = rows.rowFieldCount[index]!;
      const lineNo = rows.rowLineNo[index]!;
      if (header === undefined) {
        const names: string[] = [];
        for (let field = 0; field < fieldCount; field += 1) names.push(rows.fieldText(firstField + field));
        header = checkHeader(names, row.source);
        row.useHeader(header);
        continue;
      }
      if (fieldCount !== header.length) throw new InputFileError(`${row.source} line ${lineNo}: ${fieldCount} fields, but the header row has ${header.length}`);
      row.firstField = firstField;
      add(lineNo);
    }
  };
  rows.push(first);
  bytesRead += first.length;
  rowsRead += rows.rowCount;
  size();
  takeRows();
  for (let next = await rest.next(); next.done !== true; next = await rest.next()) {
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : next.value;
    rows.push(chunk);
    bytesRead += chunk.length;
    rowsRead += rows.rowCount;
    size();
    takeRows();
  }
  rows.finish();
  takeRows();
  if (header === undefined) throw new InputFileError(`${row.source}: the file is empty (no header row)`);
}

interface ColumnSizing {
  readonly fileBytes: number;
  readonly columns: LedgerColumns;
}

/** Rows read before the columns are sized from the bytes per row seen so far. */
const SIZING_ROWS_MIN = 64;

/** The stream again, its first chunk already taken. */
async function* replayed<T>(first: IteratorResult<T>, rest: AsyncIterator<T>): AsyncGenerator<T> {
  if (first.done === true) return;
  yield first.value;
  for (let next = await rest.next(); next.done !== true; next = await rest.next()) yield next.value;
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
 * The row being read, for CSV (fields by the header's column positions, as strings or as byte ranges of
 * `CsvByteRows`) and JSONL (an object) alike: one object for the whole file instead of closures per row.
 */
class RowFields {
  lineNo = 0;
  fields: readonly string[] = [];
  object: Record<string, unknown> | undefined;
  /** Byte-level CSV: the rows and the current row's first field. */
  rows: CsvByteRows | undefined;
  firstField = 0;
  private readonly columnAt = new Map<string, number>();
  /** Per column, the last value made from bytes: a day's file repeats its accounts, currencies and dates. */
  private readonly lastBytes = new Map<LedgerKey, { bytes: Buffer; length: number; value: string }>();
  /** Currency text (as in the file) → code and minor digits, for the last one seen. */
  private lastCurrency: { bytes: Buffer; length: number; code: string; minorDigits: number } | undefined;

  constructor(
    readonly source: string,
    readonly format: LedgerFileFormat,
    readonly interner: StringInterner,
    readonly keepDescriptive: boolean,
  ) {}

  useHeader(header: readonly string[]): void {
    header.forEach((name, index) => this.columnAt.set(name, index));
  }

  value(key: LedgerKey): unknown {
    if (this.object !== undefined) return this.object[key];
    const at = this.columnAt.get(key);
    if (at === undefined) return undefined;
    return this.rows !== undefined ? this.rows.fieldText(this.firstField + at) : this.fields[at];
  }

  fail(key: LedgerKey, problem: string): never {
    const column = this.format === 'csv' ? (COLUMNS.find(([, camel]) => camel === key)?.[0] ?? key) : key;
    throw new InputFileError(`${this.source} line ${this.lineNo}, column ${column}: ${problem}`);
  }

  /**
   * The field's byte range when it can be taken as it is: byte-level CSV, unquoted, no space or non-ASCII
   * character at either end (so trimming changes nothing) and at most `lengthMax` bytes (so at most as many
   * characters). -1 for an absent column or an empty field; undefined when the string path must decide.
   */
  private plain(key: LedgerKey, lengthMax: number): number | undefined {
    const rows = this.rows;
    if (rows === undefined) return undefined;
    const at = this.columnAt.get(key);
    if (at === undefined) return -1;
    const field = this.firstField + at;
    if (rows.fieldQuoted[field] === 1) return undefined;
    const start = rows.fieldStart[field]!;
    const end = rows.fieldEnd[field]!;
    if (end === start) return -1;
    if (end - start > lengthMax) return undefined;
    const bytes = rows.bytes;
    const first = bytes[start]!;
    const last = bytes[end - 1]!;
    if (first <= 0x20 || first >= 0x80 || last <= 0x20 || last >= 0x80) return undefined;
    return field;
  }

  /** A trimmed, length-checked text field, or undefined when empty and optional. */
  text(key: LedgerKey, required: boolean, interned: boolean, lengthMax = LEDGER_FIELD_LENGTH_MAX): string | undefined {
    const field = this.plain(key, lengthMax);
    if (field !== undefined) {
      if (field === -1) {
        if (required) this.fail(key, 'is empty');
        return undefined;
      }
      const rows = this.rows!;
      const start = rows.fieldStart[field]!;
      const end = rows.fieldEnd[field]!;
      if (!interned) return rows.bytes.toString('utf8', start, end);
      const last = this.lastBytes.get(key);
      if (last !== undefined && sameBytes(rows.bytes, start, end, last.bytes, last.length)) return last.value;
      const value = this.interner.intern(rows.bytes.toString('utf8', start, end));
      this.lastBytes.set(key, remembered(last, rows.bytes, start, end, value));
      return value;
    }
    return this.textOfValue(key, required, interned, lengthMax);
  }

  /** `text` for a field that is only validated, not kept. */
  check(key: LedgerKey, interned: boolean, lengthMax = LEDGER_FIELD_LENGTH_MAX): string | undefined {
    if (this.plain(key, lengthMax) !== undefined) return undefined;
    return this.textOfValue(key, false, interned, lengthMax);
  }

  /** The currency column: its code (interned) and minor digits, or the error of an unknown code. */
  currency(): { code: string; minorDigits: number } {
    const field = this.plain('currency', LEDGER_FIELD_LENGTH_MAX);
    const rows = this.rows;
    const last = this.lastCurrency;
    if (field !== undefined && field !== -1 && last !== undefined) {
      if (sameBytes(rows!.bytes, rows!.fieldStart[field]!, rows!.fieldEnd[field]!, last.bytes, last.length)) return last;
    }
    const currencyText = this.text('currency', true, true)!;
    let code: string;
    try {
      code = this.interner.intern(currencyCode(currencyText.toUpperCase()));
    } catch (error: unknown) {
      if (error instanceof UnknownCurrencyError) return this.fail('currency', `'${currencyText}' is not an ISO 4217 currency code`);
      throw error;
    }
    const minorDigits = minorDigitsOf(code);
    if (field !== undefined && field !== -1) {
      const remembered = { ...rememberedBytes(last, rows!.bytes, rows!.fieldStart[field]!, rows!.fieldEnd[field]!), code, minorDigits };
      this.lastCurrency = remembered;
    }
    return { code, minorDigits };
  }

  /**
   * The amount in minor units. Plain decimals of at most 15 digits (`-123.45`) are read from the bytes as exact
   * integers in a double; anything else goes through `parseDecimalToMinor` and its errors.
   */
  amount(currency: string, minorDigits: number): bigint {
    const field = this.plain('amount', LEDGER_FIELD_LENGTH_MAX);
    if (field !== undefined && field !== -1) {
      const minor = plainDecimalMinor(this.rows!.bytes, this.rows!.fieldStart[field]!, this.rows!.fieldEnd[field]!, minorDigits);
      if (minor !== undefined) return BigInt(minor);
    }
    const amountText = this.text('amount', true, false)!;
    try {
      return parseDecimalToMinor(amountText, minorDigits, { allowTrailingZeros: true });
    } catch (error: unknown) {
      if (error instanceof MoneyFormatError) return this.fail('amount', `${error.message} for ${currency}`);
      throw error;
    }
  }

  private textOfValue(key: LedgerKey, required: boolean, interned: boolean, lengthMax: number): string | undefined {
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

function sameBytes(bytes: Buffer, start: number, end: number, other: Buffer, otherLength: number): boolean {
  if (end - start !== otherLength) return false;
  for (let index = 0; index < otherLength; index += 1) if (bytes[start + index] !== other[index]) return false;
  return true;
}

function rememberedBytes(last: { bytes: Buffer } | undefined, bytes: Buffer, start: number, end: number): { bytes: Buffer; length: number } {
  const length = end - start;
  const into = last !== undefined && last.bytes.length >= length ? last.bytes : Buffer.alloc(Math.max(64, length));
  for (let index = 0; index < length; index += 1) into[index] = bytes[start + index]!;
  return { bytes: into, length };
}

function remembered(
  last: { bytes: Buffer } | undefined,
  bytes: Buffer,
  start: number,
  end: number,
  value: string,
): { bytes: Buffer; length: number; value: string } {
  return { ...rememberedBytes(last, bytes, start, end), value };
}

/** Digits of a plain decimal that a double holds exactly (below 2^53). */
const PLAIN_DIGITS_MAX = 15;

/**
 * `parseDecimalToMinor(text, minorDigits, { allowTrailingZeros: true })` for `[+-]?\d+(\.\d+)?` with at most 15
 * significant places after scaling; undefined for anything else (which the general parser then reads or refuses).
 */
function plainDecimalMinor(bytes: Buffer, start: number, end: number, minorDigits: number): number | undefined {
  let position = start;
  let negative = false;
  const sign = bytes[position];
  if (sign === 45 || sign === 43) {
    negative = sign === 45;
    position += 1;
  }
  let whole = 0;
  let wholeDigits = 0;
  while (position < end) {
    const code = bytes[position]!;
    if (code < 48 || code > 57) break;
    whole = whole * 10 + (code - 48);
    wholeDigits += 1;
    position += 1;
  }
  if (wholeDigits === 0 || wholeDigits + minorDigits > PLAIN_DIGITS_MAX) return undefined;
  let fraction = 0;
  let fractionDigits = 0;
  if (position < end) {
    if (bytes[position] !== 46) return undefined;
    position += 1;
    if (position === end) return undefined;
    while (position < end) {
      const code = bytes[position]!;
      if (code < 48 || code > 57) return undefined;
      if (fractionDigits < minorDigits) {
        fraction = fraction * 10 + (code - 48);
        fractionDigits += 1;
      } else if (code !== 48) return undefined;
      position += 1;
    }
  }
  for (let digit = fractionDigits; digit < minorDigits; digit += 1) fraction *= 10;
  const minor = whole * 10 ** minorDigits + fraction;
  return negative ? -minor : minor;
}

/** Fields whose values repeat across rows (accounts, currencies, dates, kinds, batches) are interned; the rest copied. */
function ledgerItemOf(row: RowFields): LedgerItem {
  const entryId = row.text('entryId', true, false)!;
  const account = row.text('account', true, true)!;
  const { code: currency, minorDigits } = row.currency();
  const amountMinor = row.amount(currency, minorDigits);
  const valueDate = row.text('valueDate', true, true)!;
  if (!row.interner.isValidDate(valueDate, isIsoDate)) row.fail('valueDate', `'${valueDate}' is not a YYYY-MM-DD date`);
  const bookingDate = row.text('bookingDate', false, true);
  if (bookingDate !== undefined && !row.interner.isValidDate(bookingDate, isIsoDate)) row.fail('bookingDate', `'${bookingDate}' is not a YYYY-MM-DD date`);
  const reference = row.text('reference', false, false);
  const keep = row.keepDescriptive;
  const subAccount = keep ? row.text('subAccount', false, false) : row.check('subAccount', false);
  const description = keep
    ? row.text('description', false, false, LEDGER_DESCRIPTION_LENGTH_MAX)
    : row.check('description', false, LEDGER_DESCRIPTION_LENGTH_MAX);
  const kind = keep ? row.text('kind', false, true) : row.check('kind', true);
  const batchReference = row.text('batchReference', false, true);
  // Every key present (undefined when absent): one object shape for all rows keeps the column pushes monomorphic.
  return { entryId, account, amountMinor, currency, valueDate, reference, subAccount, bookingDate, description, kind, batchReference };
}

/** The item as the object readers return it: absent fields left out rather than undefined. */
function compactItem(row: LedgerItem): LedgerItem {
  const item: { -readonly [K in keyof LedgerItem]: LedgerItem[K] } = {
    entryId: row.entryId,
    account: row.account,
    amountMinor: row.amountMinor,
    currency: row.currency,
    valueDate: row.valueDate,
  };
  if (row.reference !== undefined) item.reference = row.reference;
  if (row.subAccount !== undefined) item.subAccount = row.subAccount;
  if (row.bookingDate !== undefined) item.bookingDate = row.bookingDate;
  if (row.description !== undefined) item.description = row.description;
  if (row.kind !== undefined) item.kind = row.kind;
  if (row.batchReference !== undefined) item.batchReference = row.batchReference;
  return item;
}
