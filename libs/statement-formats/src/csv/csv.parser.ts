import { parse as parseCsvSync } from 'csv-parse/sync';
import { MoneyFormatError, formatMinorToDecimal, isCurrencyCode, minorDigitsOf, parseDecimalToMinor } from '@recon/money';
import { UnreadableStatementError, type CanonicalRecord, type EntryRecord, type RejectedRecord, type StatementRecord } from '../canonical';
import type { SourceLine, TextFormatParser, TextParseOptions } from '../parser.port';
import { isoDateOf } from '../mt940/calendar-date';
import { TEXT_LINE_LENGTH_MAX, clipRaw, quoteForReason, type LineAccountingOptions, type LineDisposition, type TextLineReader } from '../mt940/line-accounting';
import { buildCsvProfile, cleanCell, csvProfileSpecSchema, hasRequiredHeaders, normalizeHeaderCell, type CsvDateFormat, type CsvProfile } from './csv-profile';
import { BUILTIN_CSV_PROFILE_SPECS } from './csv-profiles.builtin';

export { loadCsvProfile, type CsvProfile, type CsvProfileSpec } from './csv-profile';

/** readRow's answer for a row the profile declares not to be a movement (`direction.skipValues`). */
const SKIPPED_ROW = Symbol('skipped row');

/** A quoted field may span lines; a record longer than this is an unterminated quote, not data. */
export const CSV_RECORD_LINES_MAX = 50;
/** Lines handed to csv-parse in one call once the header is known. */
export const CSV_BATCH_LINES_MAX = 512;
/** Cells per row: wide spreadsheets exist, thousands of columns do not. */
export const CSV_COLUMNS_MAX = 500;
/**
 * A profile with balances holds a file's records until its end (the closing balance is known only after the last
 * row, and the statement record comes first). Past this many, the records flow on and statements carry no balances.
 */
export const CSV_RECORDS_BUFFERED_MAX = 200_000;

export const CSV_PROFILES: ReadonlyMap<string, CsvProfile> = new Map(
  BUILTIN_CSV_PROFILE_SPECS.map((spec) => {
    const profile = buildCsvProfile(csvProfileSpecSchema.parse(spec));
    return [profile.name, profile] as const;
  }),
);

/** The parser of a built-in profile; throws UnreadableStatementError naming the unknown profile and the known ones. */
export function csvParserFor(profileName: string): TextFormatParser {
  const profile = CSV_PROFILES.get(profileName);
  if (profile === undefined) {
    throw new UnreadableStatementError(`unknown CSV profile '${profileName}'; known profiles: ${[...CSV_PROFILES.keys()].join(', ')}`);
  }
  return csvParserForProfile(profile);
}

export function csvParserForProfile(profile: CsvProfile): TextFormatParser {
  return {
    format: `csv:${profile.name}`,
    parse: (lines: AsyncIterable<SourceLine>, options?: TextParseOptions) => parseCsv(profile, lines, options),
  };
}

/** For each canonical field, the indexes of the profile's candidate columns present in the header, in profile order. */
interface ColumnIndexes {
  date: number[];
  valueDate: number[];
  amount: number[];
  /** debit[i] and credit[i] are one pair (the profile lists them in matching order). */
  debit: number[];
  credit: number[];
  currency: number[];
  account: number[];
  bankRef: number[];
  endToEndId: number[];
  customerRef: number[];
  bankTxCode: number[];
  counterpartyName: number[];
  counterpartyAccount: number[];
  remittance: number[];
  direction: number[];
  balance: number[];
}

/** What a statement's rows say about its balances: the first two and last two rows, in file order. */
interface BalanceTrack {
  readonly digits: number;
  rows: number;
  readonly edge: { amountMinor: bigint; balanceMinor: bigint | undefined; date: string }[];
  readonly tail: { amountMinor: bigint; balanceMinor: bigint | undefined; date: string }[];
  from: string;
  to: string;
  /** A balance cell that could not be read: the running balance is not trusted for this statement. */
  unreadable: boolean;
}

interface PendingRecord {
  readonly startLineNo: number;
  endLineNo: number;
  readonly lines: string[];
  /** True while a quoted field is open at the end of the last line: the record continues on the next line. */
  inQuotes: boolean;
}

interface DateReader {
  readonly format: CsvDateFormat;
  readonly pattern: RegExp;
  readonly order: readonly ('y' | 'yy' | 'M' | 'd')[];
}

function dateReaderOf(format: CsvDateFormat): DateReader {
  const order: ('y' | 'yy' | 'M' | 'd')[] = [];
  let source = '^';
  for (let index = 0; index < format.length;) {
    if (format.startsWith('yyyy', index)) {
      source += '(\\d{4})';
      order.push('y');
      index += 4;
    } else if (format.startsWith('yy', index)) {
      source += '(\\d{2})';
      order.push('yy');
      index += 2;
    } else if (format.startsWith('MM', index) || format.startsWith('dd', index)) {
      source += '(\\d{2})';
      order.push(format.charAt(index) === 'M' ? 'M' : 'd');
      index += 2;
    } else if (format.charAt(index) === 'M' || format.charAt(index) === 'd') {
      source += '(\\d{1,2})';
      order.push(format.charAt(index) === 'M' ? 'M' : 'd');
      index += 1;
    } else {
      source += `\\${format.charAt(index)}`;
      index += 1;
    }
  }
  // A time may follow the date in the same cell (`2023-05-02 10:00:00`).
  return { format, pattern: new RegExp(`${source}(?:[ T].*)?$`), order };
}

export class CsvReader implements TextLineReader {
  private readonly out: CanonicalRecord[] = [];
  private readonly dateReaders: readonly DateReader[];
  private readonly statementIds = new Map<string, string>();
  private readonly usedStatementIds = new Set<string>();
  private readonly accountPattern: RegExp | undefined;
  private columns: ColumnIndexes | undefined;
  private pending: PendingRecord | undefined;
  private batch: PendingRecord[] = [];
  private batchLines = 0;
  /** Why a row with the required header names was still not taken as the header (named in the unreadable error). */
  private headerProblem: string | undefined;
  private preambleAccount: string | undefined;
  private linesBeforeHeader = 0;
  private lastLineNo = 0;
  private readonly accountCurrencyPattern: RegExp | undefined;
  private readonly accountCurrencies: ReadonlyMap<string, string>;
  /** Records held until the end of the file (profiles with balances), or undefined when they flow. */
  private buffered: CanonicalRecord[] | undefined;
  private readonly tracks = new Map<string, BalanceTrack>();
  private readonly balancePatterns: { opening: RegExp | undefined; closing: RegExp | undefined };
  private statedOpening: string | undefined;
  private statedClosing: string | undefined;
  /** A row after the header was rejected: its money is unknown, so running balances around it are not derived. */
  private dataRowRejected = false;

  constructor(
    private readonly profile: CsvProfile,
    private readonly lineLengthMax: number,
    private readonly onLineAccounted: ((lineNo: number, disposition: LineDisposition) => void) | undefined,
  ) {
    this.dateReaders = profile.dateFormats.map(dateReaderOf);
    this.accountPattern = profile.accountPreamblePattern === undefined ? undefined : new RegExp(profile.accountPreamblePattern);
    this.accountCurrencyPattern = profile.accountCurrencyPattern === undefined ? undefined : new RegExp(profile.accountCurrencyPattern);
    this.accountCurrencies = new Map(Object.entries(profile.accountCurrencies).map(([account, currency]) => [accountKey(account), currency]));
    this.balancePatterns = {
      opening: profile.balances?.openingPattern === undefined ? undefined : new RegExp(profile.balances.openingPattern),
      closing: profile.balances?.closingPattern === undefined ? undefined : new RegExp(profile.balances.closingPattern),
    };
    const hasBalances = profile.columns.balance !== undefined || this.balancePatterns.opening !== undefined || this.balancePatterns.closing !== undefined;
    this.buffered = hasBalances ? [] : undefined;
  }

  /** Holds the records of a profile with balances until the end of the file, within CSV_RECORDS_BUFFERED_MAX. */
  private held(): CanonicalRecord[] {
    const buffered = this.buffered;
    if (buffered === undefined || this.out.length === 0) return this.out;
    if (buffered.length + this.out.length <= CSV_RECORDS_BUFFERED_MAX) {
      for (const record of this.out) buffered.push(record);
      this.out.length = 0;
      return this.out;
    }
    // Too many to hold: everything flows from here, and no statement carries balances.
    this.buffered = undefined;
    this.tracks.clear();
    const flowing = buffered.concat(this.out);
    this.out.length = 0;
    for (const record of flowing) this.out.push(record);
    return this.out;
  }

  push(line: SourceLine): CanonicalRecord[] {
    this.out.length = 0;
    this.lastLineNo = line.lineNo;
    let text = line.text;
    if (line.lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.length > this.lineLengthMax) {
      this.flushPending();
      this.flushBatch();
      this.reject(line.lineNo, line.lineNo, `line is ${text.length} characters long, over the limit of ${this.lineLengthMax}`, text);
      return this.held();
    }
    const pending = this.pending ?? { startLineNo: line.lineNo, endLineNo: line.lineNo, lines: [], inQuotes: false };
    pending.lines.push(text);
    pending.endLineNo = line.lineNo;
    pending.inQuotes = quotedFieldOpenAfter(text, this.profile.delimiter, this.profile.quote, pending.inQuotes);
    if (pending.inQuotes && pending.lines.length < CSV_RECORD_LINES_MAX) {
      this.pending = pending; // inside a quoted field that continues on the next line
      return this.held();
    }
    this.pending = undefined;
    this.completeRecord(pending);
    return this.held();
  }

  finish(): CanonicalRecord[] {
    this.out.length = 0;
    this.flushPending();
    this.flushBatch();
    if (this.columns === undefined) {
      throw new UnreadableStatementError(this.lastLineNo === 0 ? 'CSV file is empty' : this.noHeaderMessage());
    }
    this.held();
    const buffered = this.buffered;
    if (buffered === undefined) return this.out;
    this.buffered = undefined;
    for (const record of buffered) this.out.push(record.kind === 'statement' ? this.withBalances(record) : record);
    return this.out;
  }

  /**
   * The statement with the balances its file gives: stated on a line of their own (one statement in the file), else
   * derived from the running balance column (opening = first row's balance − its amount, closing = last row's
   * balance; rows newest first are recognised by their dates or by the balance arithmetic), with `from`/`to` the
   * first and last booking dates.
   */
  private withBalances(statement: StatementRecord): StatementRecord {
    const track = this.tracks.get(statement.statementId);
    if (track === undefined) return statement;
    let opening: bigint | undefined;
    let closing: bigint | undefined;
    // A rejected row's amount is unknown and its balance may be the last word: deriving would misstate the
    // statement and hide the rejected money from the balance check. Only balances the file states are then carried.
    if (
      !this.dataRowRejected &&
      !track.unreadable &&
      track.edge.every((row) => row.balanceMinor !== undefined) &&
      track.tail.every((row) => row.balanceMinor !== undefined)
    ) {
      const first = track.edge[0]!;
      const last = track.tail[track.tail.length - 1]!;
      if (newestFirst(track)) {
        opening = last.balanceMinor! - last.amountMinor;
        closing = first.balanceMinor!;
      } else {
        opening = first.balanceMinor! - first.amountMinor;
        closing = last.balanceMinor!;
      }
    }
    if (this.tracks.size === 1) {
      const stated = (text: string | undefined): bigint | undefined => {
        if (text === undefined) return undefined;
        const amount = this.readAmount(text, track.digits);
        return typeof amount === 'bigint' ? amount : undefined;
      };
      opening = stated(this.statedOpening) ?? opening;
      closing = stated(this.statedClosing) ?? closing;
    }
    if (opening === undefined && closing === undefined) return statement;
    return {
      ...statement,
      from: track.from,
      to: track.to,
      ...(opening === undefined ? {} : { openingBalance: { amount: formatMinorToDecimal(opening, track.digits), date: track.from } }),
      ...(closing === undefined ? {} : { closingBalance: { amount: formatMinorToDecimal(closing, track.digits), date: track.to } }),
    };
  }

  /** Balance lines of the export (`期初余额: 1,234.56`): read before the header and in footers. */
  private noteStatedBalances(text: string): void {
    if (this.buffered === undefined) return;
    const opening = this.balancePatterns.opening?.exec(text)?.[1]?.trim();
    if (opening !== undefined && opening.length > 0) this.statedOpening ??= opening;
    const closing = this.balancePatterns.closing?.exec(text)?.[1]?.trim();
    if (closing !== undefined && closing.length > 0) this.statedClosing = closing;
  }

  private trackBalance(statementId: string, digits: number, amountMinor: bigint, balanceText: string, date: string): void {
    if (this.buffered === undefined) return;
    let track = this.tracks.get(statementId);
    if (track === undefined) {
      track = { digits, rows: 0, edge: [], tail: [], from: date, to: date, unreadable: false };
      this.tracks.set(statementId, track);
    }
    let balanceMinor: bigint | undefined;
    if (this.columns?.balance.length !== 0) {
      const balance = this.readAmount(balanceText, digits);
      if (typeof balance === 'bigint') balanceMinor = balance;
      else track.unreadable = true; // empty or unreadable: the running balance is not trusted for this statement
    }
    const row = { amountMinor, balanceMinor, date };
    track.rows += 1;
    if (track.edge.length < 2) track.edge.push(row);
    track.tail.push(row);
    if (track.tail.length > 2) track.tail.shift();
    if (date < track.from) track.from = date;
    if (date > track.to) track.to = date;
  }

  private flushPending(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    this.completeRecord(pending);
  }

  /**
   * Until the header is found every record is parsed on its own (preambles are not CSV). After it, complete records
   * are batched: one csv-parse call per CSV_BATCH_LINES_MAX lines instead of one per row.
   */
  private completeRecord(record: PendingRecord): void {
    if (this.columns === undefined || record.inQuotes) {
      this.flushBatch();
      this.processRecord(record);
      return;
    }
    this.batch.push(record);
    this.batchLines += record.lines.length;
    if (this.batchLines >= CSV_BATCH_LINES_MAX) this.flushBatch();
  }

  private flushBatch(): void {
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    this.batchLines = 0;
    const first = batch[0]?.startLineNo ?? 1;
    let parsed: { record: string[]; info: { lines: number } }[] | undefined;
    try {
      parsed = parseCsvSync(batch.map((record) => record.lines.join('\n')).join('\n'), { ...this.csvOptions(), info: true }) as unknown as {
        record: string[];
        info: { lines: number };
      }[];
    } catch {
      parsed = undefined;
    }
    // csv-parse and the quote count must agree on where each record ends; where they do not (a stray quote), each
    // record is parsed on its own so that the disagreement lands on the lines that caused it.
    const agrees =
      parsed !== undefined && parsed.length === batch.length && parsed.every((row, index) => first + row.info.lines - 1 === batch[index]?.endLineNo);
    batch.forEach((record, index) => {
      const row = agrees ? parsed?.[index]?.record : undefined;
      if (row === undefined) this.processRecord(record);
      else this.processCells(record, row, undefined);
    });
  }

  private csvOptions() {
    return { delimiter: this.profile.delimiter, quote: this.profile.quote, relax_quotes: true, relax_column_count: true, skip_empty_lines: false } as const;
  }

  private processRecord(record: PendingRecord): void {
    const text = record.lines.join('\n');
    if (text.trim().length === 0) {
      this.accountRange(record, 'noise');
      return;
    }
    if (record.inQuotes) {
      this.reject(record.startLineNo, record.endLineNo, `unterminated quoted field (no closing '"' within ${CSV_RECORD_LINES_MAX} lines)`, text);
      return;
    }
    let rows: string[][];
    try {
      rows = parseCsvSync(text, this.csvOptions()) as string[][];
    } catch (error) {
      if (this.columns === undefined) {
        this.notePreamble(record, text);
        return;
      }
      this.reject(record.startLineNo, record.endLineNo, `row is not valid CSV: ${(error as Error).message}`, text);
      return;
    }
    if (rows.length !== 1) {
      if (this.columns === undefined) {
        this.notePreamble(record, text);
        return;
      }
      this.reject(record.startLineNo, record.endLineNo, `lines read as ${rows.length} CSV rows: a stray '"' makes the row boundaries ambiguous`, text);
      return;
    }
    this.processCells(record, rows[0] ?? [], text);
  }

  private processCells(record: PendingRecord, cells: readonly string[], knownText: string | undefined): void {
    const text = (): string => knownText ?? record.lines.join('\n');
    if (cells.length > CSV_COLUMNS_MAX) {
      this.reject(record.startLineNo, record.endLineNo, `row has ${cells.length} cells, over the limit of ${CSV_COLUMNS_MAX}`, text());
      return;
    }
    if (this.columns === undefined) {
      const columns = this.headerColumns(cells);
      if (columns === undefined) {
        this.notePreamble(record, text());
        return;
      }
      this.columns = columns;
      this.accountRange(record, 'statement');
      return;
    }
    const first = cleanCell(cells[0] ?? '');
    if (this.profile.footerPrefixes.some((prefix) => first.startsWith(prefix)) || cells.every((cell) => cleanCell(cell).length === 0)) {
      this.noteStatedBalances(text());
      this.accountRange(record, 'noise');
      return;
    }
    const entry = this.readRow(cells, this.columns, record.startLineNo);
    if (entry === SKIPPED_ROW) {
      this.accountRange(record, 'noise');
      return;
    }
    if (typeof entry === 'string') {
      this.reject(record.startLineNo, record.endLineNo, entry, text());
      return;
    }
    this.out.push(entry);
    this.accountRange(record, 'entry');
  }

  private notePreamble(record: PendingRecord, text: string): void {
    this.linesBeforeHeader += record.lines.length;
    if (this.linesBeforeHeader > this.profile.preambleLinesMax) {
      throw new UnreadableStatementError(this.noHeaderMessage());
    }
    this.noteStatedBalances(text);
    if (this.accountPattern !== undefined && this.preambleAccount === undefined) {
      const match = this.accountPattern.exec(text);
      const account = match?.[1]?.trim();
      if (account !== undefined && account.length > 0) this.preambleAccount = account;
    }
    this.accountRange(record, 'noise');
  }

  private noHeaderMessage(): string {
    const where = `in the first ${this.profile.preambleLinesMax + 1} lines (CSV profile '${this.profile.name}')`;
    const missing = `no header row with the columns ${this.profile.headerRequired.join(', ')} found ${where}`;
    return this.headerProblem === undefined ? missing : `${missing}: ${this.headerProblem}`;
  }

  private headerColumns(cells: readonly string[]): ColumnIndexes | undefined {
    const names = cells.map(normalizeHeaderCell);
    if (!hasRequiredHeaders(this.profile.headerRequired, cells)) return undefined;
    const indexesOf = (candidates: readonly string[] | undefined): number[] => {
      const indexes: number[] = [];
      for (const candidate of candidates ?? []) {
        const index = names.indexOf(normalizeHeaderCell(candidate));
        if (index !== -1 && !indexes.includes(index)) indexes.push(index);
      }
      return indexes;
    };
    const columns = this.profile.columns;
    const date = indexesOf(columns.date);
    if (date.length === 0) {
      this.headerProblem = `a header row has the required names but none of the date columns (${columns.date.join(', ')})`;
      return undefined;
    }
    // Debit/credit pairs: keep pairs whose both columns are present.
    const debit: number[] = [];
    const credit: number[] = [];
    (columns.debit ?? []).forEach((debitName, position) => {
      const creditName = columns.credit?.[position];
      const debitIndex = names.indexOf(normalizeHeaderCell(debitName));
      const creditIndex = creditName === undefined ? -1 : names.indexOf(normalizeHeaderCell(creditName));
      if (debitIndex !== -1 && creditIndex !== -1) {
        debit.push(debitIndex);
        credit.push(creditIndex);
      }
    });
    const amount = debit.length > 0 ? [] : indexesOf(columns.amount);
    if (debit.length === 0 && amount.length === 0) {
      this.headerProblem = `a header row has the required names but no amount column (${[...(columns.amount ?? []), ...(columns.credit ?? [])].join(', ')})`;
      return undefined;
    }
    return {
      date,
      valueDate: indexesOf(columns.valueDate).filter((index) => index !== date[0]),
      amount,
      debit,
      credit,
      currency: indexesOf(columns.currency),
      account: indexesOf(columns.account),
      bankRef: indexesOf(columns.bankRef),
      endToEndId: indexesOf(columns.endToEndId),
      customerRef: indexesOf(columns.customerRef),
      bankTxCode: indexesOf(columns.bankTxCode),
      counterpartyName: indexesOf(columns.counterpartyName),
      counterpartyAccount: indexesOf(columns.counterpartyAccount),
      remittance: indexesOf(columns.remittance),
      direction: indexesOf(this.profile.direction?.column),
      balance: indexesOf(columns.balance),
    };
  }

  private readRow(cells: readonly string[], columns: ColumnIndexes, lineNo: number): EntryRecord | string | typeof SKIPPED_ROW {
    const empty = this.profile.emptyAmountTokens;
    const valueAt = (index: number): string => {
      const value = cleanCell(cells[index] ?? '');
      return empty.includes(value) ? '' : value;
    };
    // The first candidate column that holds something (ICBC fills 记账金额 where 交易金额 is `-`, or the reverse).
    const cell = (indexes: readonly number[]): string => {
      for (const index of indexes) {
        const value = valueAt(index);
        if (value.length > 0) return value;
      }
      return '';
    };
    let directionSign = 1n;
    const direction = this.profile.direction;
    if (direction !== undefined && columns.direction.length > 0) {
      const value = cell(columns.direction);
      if (direction.skipValues.includes(value)) return SKIPPED_ROW;
      if (direction.creditValues.includes(value)) directionSign = 1n;
      else if (direction.debitValues.includes(value)) directionSign = -1n;
      else
        return `direction ${quoteForReason(value)} is neither a credit (${direction.creditValues.join(', ')}) nor a debit (${direction.debitValues.join(', ')})`;
    }
    const bookingDate = this.readDate(cell(columns.date));
    if (bookingDate.startsWith('!')) return bookingDate.slice(1);
    let valueDate = bookingDate;
    if (cell(columns.valueDate).length > 0) {
      valueDate = this.readDate(cell(columns.valueDate));
      if (valueDate.startsWith('!')) return valueDate.slice(1);
    }
    const account = cell(columns.account) || this.preambleAccount || this.profile.account || '';
    const currencyCell = cell(columns.currency);
    const currency =
      currencyCell.length === 0
        ? (this.currencyOfAccount(account) ?? this.profile.currency)
        : (this.profile.currencyAliases[currencyCell] ?? currencyCell.toUpperCase());
    if (currency === undefined) {
      return `no currency: the row leaves it blank, account '${account.slice(0, 40)}' gives none and CSV profile '${this.profile.name}' sets none (give the profile currency, accountCurrencies or accountCurrencyPattern)`;
    }
    if (!isCurrencyCode(currency)) return `currency ${quoteForReason(currencyCell)} is not an ISO 4217 code`;
    const digits = minorDigitsOf(currency);
    let amountMinor: bigint;
    if (columns.amount.length > 0) {
      const amount = this.readAmount(cell(columns.amount), digits);
      if (typeof amount === 'string') return amount;
      if (amount === undefined) return 'amount is empty';
      if (columns.direction.length > 0) amountMinor = directionSign * abs(amount);
      else amountMinor = this.profile.signConvention === 'debit-positive' ? -amount : amount;
    } else {
      let pair = columns.credit.findIndex((creditIndex, position) => valueAt(creditIndex).length > 0 || valueAt(columns.debit[position] ?? -1).length > 0);
      if (pair === -1) pair = 0;
      const credit = this.readAmount(valueAt(columns.credit[pair] ?? -1), digits);
      if (typeof credit === 'string') return credit;
      const debit = this.readAmount(valueAt(columns.debit[pair] ?? -1), digits);
      if (typeof debit === 'string') return debit;
      if (credit === undefined && debit === undefined) return 'neither the debit nor the credit amount is filled in';
      // Both columns hold magnitudes; some banks write the debit with a minus sign, which is not a second negation.
      amountMinor = abs(credit ?? 0n) - abs(debit ?? 0n);
    }
    const statementId = this.statementFor(account, currency, bookingDate);
    this.trackBalance(statementId, digits, amountMinor, cell(columns.balance), bookingDate);
    const text = (indexes: readonly number[]): string | undefined => {
      const value = cell(indexes);
      return value.length === 0 ? undefined : value;
    };
    const remittanceParts: string[] = [];
    for (const index of columns.remittance) {
      const value = valueAt(index);
      if (value.length > 0) remittanceParts.push(value);
    }
    const bankRef = text(columns.bankRef);
    const endToEndId = text(columns.endToEndId);
    const customerRef = text(columns.customerRef);
    const bankTxCode = text(columns.bankTxCode);
    const counterpartyName = text(columns.counterpartyName);
    const counterpartyAccount = text(columns.counterpartyAccount);
    return {
      kind: 'entry',
      statementId,
      lineNo,
      amount: formatMinorToDecimal(amountMinor, digits),
      currency,
      bookingDate,
      valueDate,
      ...(bankRef !== undefined ? { bankRef } : {}),
      ...(endToEndId !== undefined ? { endToEndId } : {}),
      ...(customerRef !== undefined ? { customerRef } : {}),
      ...(bankTxCode !== undefined ? { bankTxCode } : {}),
      ...(counterpartyName !== undefined ? { counterpartyName } : {}),
      ...(counterpartyAccount !== undefined ? { counterpartyAccount } : {}),
      ...(remittanceParts.length > 0 ? { remittance: remittanceParts.join(' ') } : {}),
      reversal: false,
    };
  }

  /**
   * CSV has no statement: one `statement` record is emitted per (account, currency) the first time a row of it
   * appears. Its id is `csv:<profile>:<account>:<currency>:<first booking date>`, with `/2`, `/3` for repeats.
   */
  private statementFor(account: string, currency: string, firstDate: string): string {
    const key = `${account}\u0000${currency}`;
    const known = this.statementIds.get(key);
    if (known !== undefined) return known;
    const base = `csv:${this.profile.name}:${account}:${currency}:${firstDate}`;
    let statementId = base;
    for (let suffix = 2; this.usedStatementIds.has(statementId); suffix += 1) statementId = `${base}/${suffix}`;
    this.usedStatementIds.add(statementId);
    this.statementIds.set(key, statementId);
    const statement: StatementRecord = { kind: 'statement', format: `csv:${this.profile.name}`, statementId, account, currency };
    this.out.push(statement);
    return statementId;
  }

  /** The currency an account implies (profile `accountCurrencies`, then `accountCurrencyPattern`), if any. */
  private currencyOfAccount(account: string): string | undefined {
    if (account.length === 0) return undefined;
    const mapped = this.accountCurrencies.get(accountKey(account));
    if (mapped !== undefined) return mapped;
    const captured = this.accountCurrencyPattern?.exec(account)?.[1]?.trim();
    if (captured === undefined || captured.length === 0) return undefined;
    return this.profile.currencyAliases[captured] ?? captured.toUpperCase();
  }

  /** Returns the ISO date, or the reason prefixed with `!`. */
  private readDate(text: string): string {
    if (text.length === 0) return '!date is empty';
    for (const reader of this.dateReaders) {
      const match = reader.pattern.exec(text);
      if (match === null) continue;
      let year = 0;
      let month = 0;
      let day = 0;
      reader.order.forEach((part, index) => {
        const value = Number(match[index + 1]);
        if (part === 'y') year = value;
        else if (part === 'yy') year = 2000 + value;
        else if (part === 'M') month = value;
        else day = value;
      });
      const date = isoDateOf(year, month, day, 'strict');
      if (date === undefined) return `!date ${quoteForReason(text)} is not a valid ${reader.format} date`;
      return date;
    }
    return `!date ${quoteForReason(text)} does not match ${this.profile.dateFormats.join(' or ')}`;
  }

  /** Undefined for an empty cell, a reason for a bad one. Handles `1.234,56`, `"1,234.00"`, `(12.34)`, `+10.00`. */
  private readAmount(text: string, digits: number): bigint | undefined | string {
    if (text.length === 0 || this.profile.emptyAmountTokens.includes(text)) return undefined;
    let body = text.replace(/\s+/g, '');
    let negative = false;
    if (body.startsWith('(') && body.endsWith(')')) {
      negative = true;
      body = body.slice(1, -1);
    }
    if (body.startsWith('-') || body.startsWith('+')) {
      negative = body.startsWith('-') !== negative;
      body = body.slice(1);
    } else if (body.endsWith('-')) {
      negative = !negative;
      body = body.slice(0, -1);
    }
    const { decimalSeparator, thousandsSeparator } = this.profile;
    const decimalAt = body.lastIndexOf(decimalSeparator);
    const whole = decimalAt === -1 ? body : body.slice(0, decimalAt);
    const fraction = decimalAt === -1 ? '' : body.slice(decimalAt + 1);
    const wholeDigits = thousandsSeparator === '' ? whole : whole.split(thousandsSeparator).join('');
    const groupsOk = thousandsSeparator === '' || !whole.includes(thousandsSeparator) || isGrouped(whole, thousandsSeparator);
    if (!groupsOk || !/^\d+$/.test(wholeDigits) || !/^\d*$/.test(fraction)) return `amount ${quoteForReason(text)} is not a decimal number`;
    try {
      const minor = parseDecimalToMinor(fraction.length === 0 ? wholeDigits : `${wholeDigits}.${fraction}`, digits, { allowTrailingZeros: true });
      return negative ? -minor : minor;
    } catch (error) {
      if (error instanceof MoneyFormatError) return `amount ${quoteForReason(text)}: ${error.message}`;
      throw error;
    }
  }

  private reject(startLineNo: number, endLineNo: number, reason: string, raw: string): void {
    if (this.columns !== undefined) this.dataRowRejected = true;
    const rejected: RejectedRecord = { kind: 'rejected', lineNo: startLineNo, reason, raw: clipRaw(raw) };
    this.out.push(rejected);
    if (this.onLineAccounted !== undefined) for (let lineNo = startLineNo; lineNo <= endLineNo; lineNo += 1) this.onLineAccounted(lineNo, 'rejected');
  }

  private accountRange(record: PendingRecord, disposition: LineDisposition): void {
    if (this.onLineAccounted === undefined) return;
    for (let lineNo = record.startLineNo; lineNo <= record.endLineNo; lineNo += 1) this.onLineAccounted(lineNo, disposition);
  }
}

/**
 * Whether a quoted field is still open at the end of `text`, given whether one was open at its start. Mirrors
 * csv-parse with relax_quotes: a quote opens a field only at the field's start, a doubled quote inside is an escaped
 * quote, and a quote elsewhere in an unquoted field is literal (`5" screen`), so it cannot swallow the next lines.
 */
export function quotedFieldOpenAfter(text: string, delimiter: string, quote: string, openAtStart: boolean): boolean {
  if (!openAtStart && !text.includes(quote)) return false;
  let inQuotes = openAtStart;
  let fieldStart = !openAtStart;
  for (let index = 0; index < text.length; index += 1) {
    const char = text.charAt(index);
    if (inQuotes) {
      if (char === quote) {
        if (text.charAt(index + 1) === quote) index += 1;
        else inQuotes = false;
      }
    } else if (char === delimiter) fieldStart = true;
    else {
      if (fieldStart && char === quote) inQuotes = true;
      fieldStart = false;
    }
  }
  return inQuotes;
}

/** `1,234,567` with `,`: the first group has 1–3 digits, every later group exactly 3. */
function isGrouped(whole: string, separator: string): boolean {
  const groups = whole.split(separator);
  if (groups.length < 2) return true;
  const [head, ...tail] = groups;
  if (head === undefined || head.length === 0 || head.length > 3) return false;
  return tail.every((group) => group.length === 3);
}

/** Whether a statement's rows run newest first: by their dates, else by the running-balance arithmetic of the first two. */
function newestFirst(track: BalanceTrack): boolean {
  const first = track.edge[0]!;
  const last = track.tail[track.tail.length - 1]!;
  if (first.date !== last.date) return first.date > last.date;
  const second = track.edge[1];
  if (second === undefined || first.balanceMinor === undefined || second.balanceMinor === undefined) return false;
  if (second.balanceMinor === first.balanceMinor + second.amountMinor) return false;
  return first.balanceMinor === second.balanceMinor + first.amountMinor;
}

/** Accounts compare without spaces and case (IBANs are printed in groups of four). */
function accountKey(account: string): string {
  return account.replace(/\s+/g, '').toUpperCase();
}

function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}

/** The synchronous form of parseCsv (see TextLineReader). */
export function createCsvLineReader(profile: CsvProfile, options: LineAccountingOptions = {}): TextLineReader {
  return new CsvReader(profile, options.lineLengthMax ?? TEXT_LINE_LENGTH_MAX, options.onLineAccounted);
}

export async function* parseCsv(profile: CsvProfile, lines: AsyncIterable<SourceLine>, options: LineAccountingOptions = {}): AsyncGenerator<CanonicalRecord> {
  const reader = new CsvReader(profile, options.lineLengthMax ?? TEXT_LINE_LENGTH_MAX, options.onLineAccounted);
  for await (const line of lines) {
    const ready = reader.push(line);
    if (ready.length > 0) {
      for (const record of ready) yield record;
      ready.length = 0;
    }
  }
  const last = reader.finish();
  for (const record of last) yield record;
  last.length = 0;
}
