import { formatMinorToDecimal, isCurrencyCode, minorDigitsOf } from '@recon/money';
import { UnreadableStatementError, type CanonicalRecord, type EntryRecord, type RejectedRecord, type StatementRecord } from '../canonical';
import type { SourceLine, TextFormatParser, TextParseOptions } from '../parser.port';
import { isoDateFromYymmdd } from '../mt940/calendar-date';
import { TEXT_LINE_LENGTH_MAX, clipRaw, quoteForReason, type LineAccountingOptions, type LineDisposition, type TextLineReader } from '../mt940/line-accounting';

/**
 * Streaming BAI2 (and X9.121 BTRS v3) reader. Records are split on `/` only where the next record code follows
 * (several records per physical line, GS files without `/`), `88` continuations are folded into the record they
 * continue, and every `49`/`98`/`99` trailer is checked against what the file actually held.
 */

/** `D` (distributed availability) funds type: more pairs than this is hostile input. */
export const FUNDS_DISTRIBUTIONS_MAX = 100;
/** `88` continuations folded into one record. */
export const CONTINUATIONS_PER_RECORD_MAX = 1_000;
/** Currency of a group and an account that both leave it blank (BAI2 2005 spec, section on the 02 record). */
export const BAI2_DEFAULT_CURRENCY = 'USD';

export type Bai2Direction = 'credit' | 'debit';

export interface Bai2ParseOptions extends LineAccountingOptions {
  /**
   * Directions of bank-specific detail type codes (900–999, and 700–899 which BAI2 leaves to loans and custom use).
   * Codes 100–399 are credits and 400–699 debits by the standard; any other code without an entry here is rejected.
   */
  readonly typeCodeDirections?: ReadonlyMap<string, Bai2Direction>;
}

const RECORD_CODES: ReadonlySet<string> = new Set(['01', '02', '03', '16', '49', '88', '98', '99']);
/** A `/` ends a record only when whitespace and then a record code (or the end of the line) follow it. */
const RECORD_BOUNDARY = /\/\s*(?=(?:01|02|03|16|49|88|98|99),|$)/g;

interface Segment {
  readonly code: string;
  /** Everything after `NN,` without the terminating `/`. */
  readonly content: string;
  readonly lineNo: number;
  readonly raw: string;
}

interface LogicalRecord {
  readonly head: Segment;
  readonly continuations: Segment[];
  /** Lines of physical wraps without a record code (GS style text spilling onto the next line). */
  wrapLineNos: number[];
}

/** Reads comma-separated fields across a record and its `88` continuations. */
class FieldCursor {
  private segmentIndex = 0;
  private position = 0;

  constructor(private readonly contents: readonly string[]) {}

  atEnd(): boolean {
    this.skipExhausted();
    return this.segmentIndex >= this.contents.length;
  }

  next(): string | undefined {
    this.skipExhausted();
    const content = this.contents[this.segmentIndex];
    if (content === undefined) return undefined;
    const comma = content.indexOf(',', this.position);
    const end = comma === -1 ? content.length : comma;
    const field = content.slice(this.position, end);
    this.position = comma === -1 ? content.length + 1 : comma + 1;
    return field.trim();
  }

  /** The free-text remainder: the rest of the current segment (commas kept), then each continuation, space-joined. */
  rest(): string {
    const parts: string[] = [];
    const current = this.contents[this.segmentIndex];
    if (current !== undefined && this.position <= current.length) parts.push(current.slice(this.position));
    for (let index = this.segmentIndex + 1; index < this.contents.length; index += 1) parts.push(this.contents[index] ?? '');
    this.segmentIndex = this.contents.length;
    return parts
      .map((part) => part.trim())
      .filter((part) => part.length > 0)
      .join(' ');
  }

  private skipExhausted(): void {
    while (this.segmentIndex < this.contents.length && this.position > (this.contents[this.segmentIndex]?.length ?? 0)) {
      this.segmentIndex += 1;
      this.position = 0;
    }
  }
}

interface GroupState {
  readonly asOfDate?: string;
  readonly currency: string;
  readonly startLineNo: number;
  recordCount: number;
  accountTotalsSum: bigint;
  accountCount: number;
}

interface AccountState {
  readonly statementId?: string;
  readonly currency?: string;
  readonly unreadableReason?: string;
  readonly accountNumber: string;
  recordCount: number;
  amountSum: bigint;
}

interface FileState {
  readonly senderId: string;
  readonly fileId: string;
  readonly version: string;
  recordCount: number;
  groupTotalsSum: bigint;
  groupCount: number;
}

export class Bai2Reader implements TextLineReader {
  private readonly out: CanonicalRecord[] = [];
  private readonly usedStatementIds = new Set<string>();
  private pending: LogicalRecord | undefined;
  private file: FileState | undefined;
  private group: GroupState | undefined;
  private accountState: AccountState | undefined;
  private fileClosed = false;
  private lastLineNo = 0;
  private lastRaw = '';

  constructor(
    private readonly lineLengthMax: number,
    private readonly onLineAccounted: ((lineNo: number, disposition: LineDisposition) => void) | undefined,
    private readonly typeCodeDirections: ReadonlyMap<string, Bai2Direction>,
  ) {}

  push(line: SourceLine): CanonicalRecord[] {
    this.out.length = 0;
    this.lastLineNo = line.lineNo;
    let text = line.text;
    if (line.lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.length > this.lineLengthMax) {
      this.flushPending();
      this.reject(line.lineNo, `line is ${text.length} characters long, over the limit of ${this.lineLengthMax}`, text);
      this.account(line.lineNo, 'rejected');
      return this.out;
    }
    const trimmed = text.trim();
    if (trimmed.length === 0) {
      this.account(line.lineNo, 'noise');
      return this.out;
    }
    this.lastRaw = text;
    if (!startsWithRecordCode(trimmed)) {
      // GS-style files wrap a 16 record's text onto the next physical line without an 88.
      const pending = this.pending;
      if (pending !== undefined && (pending.head.code === '16' || pending.head.code === '88') && pending.wrapLineNos.length < CONTINUATIONS_PER_RECORD_MAX) {
        pending.continuations.push({ code: '88', content: trimmed.replace(/\/\s*$/, ''), lineNo: line.lineNo, raw: text });
        pending.wrapLineNos.push(line.lineNo);
        return this.out;
      }
      if (this.file === undefined && this.pending === undefined)
        throw new UnreadableStatementError(`not a BAI2 file: line ${line.lineNo} does not start with the 01 file header`);
      this.flushPending();
      this.reject(line.lineNo, `line does not start with a BAI2 record code (01, 02, 03, 16, 49, 88, 98, 99): ${quoteForReason(trimmed)}`, text);
      this.account(line.lineNo, 'rejected');
      return this.out;
    }
    for (const segment of splitSegments(trimmed, line.lineNo, text)) this.acceptSegment(segment);
    return this.out;
  }

  finish(): CanonicalRecord[] {
    this.out.length = 0;
    this.flushPending();
    if (this.file === undefined) throw new UnreadableStatementError(this.lastLineNo === 0 ? 'BAI2 file is empty' : 'not a BAI2 file: no 01 file header');
    if (this.accountState !== undefined) {
      this.reject(this.lastLineNo, `account ${quoteForReason(this.accountState.accountNumber)} has no 49 account trailer (file truncated?)`, '');
    }
    if (this.group !== undefined) this.reject(this.lastLineNo, 'group has no 98 group trailer (file truncated?)', '');
    if (!this.fileClosed) this.reject(this.lastLineNo, 'file has no 99 file trailer (file truncated?)', '');
    return this.out;
  }

  private acceptSegment(segment: Segment): void {
    if (this.file === undefined && this.pending === undefined && segment.code !== '01') {
      throw new UnreadableStatementError(`not a BAI2 file: the first record is ${quoteForReason(segment.raw.slice(0, 40))}, not an 01 file header`);
    }
    if (segment.code === '88') {
      const pending = this.pending;
      if (pending === undefined) {
        this.reject(segment.lineNo, '88 continuation without a record before it', segment.raw);
        this.account(segment.lineNo, 'rejected');
        return;
      }
      if (pending.continuations.length >= CONTINUATIONS_PER_RECORD_MAX) {
        this.reject(segment.lineNo, `more than ${CONTINUATIONS_PER_RECORD_MAX} 88 continuations for one record`, segment.raw);
        this.account(segment.lineNo, 'rejected');
        return;
      }
      pending.continuations.push(segment);
      return;
    }
    this.flushPending();
    this.pending = { head: segment, continuations: [], wrapLineNos: [] };
  }

  private flushPending(): void {
    const record = this.pending;
    if (record === undefined) return;
    this.pending = undefined;
    const physicalRecords = 1 + record.continuations.length - record.wrapLineNos.length;
    if (this.file !== undefined) this.file.recordCount += physicalRecords;
    if (this.group !== undefined) this.group.recordCount += physicalRecords;
    if (this.accountState !== undefined) this.accountState.recordCount += physicalRecords;
    const disposition = this.processRecord(record);
    this.account(record.head.lineNo, disposition);
    for (const continuation of record.continuations) this.account(continuation.lineNo, disposition);
  }

  private processRecord(record: LogicalRecord): LineDisposition {
    const cursor = new FieldCursor([record.head.content, ...record.continuations.map((segment) => segment.content)]);
    switch (record.head.code) {
      case '01':
        return this.readFileHeader(record, cursor);
      case '02':
        return this.readGroupHeader(record, cursor);
      case '03':
        return this.readAccountHeader(record, cursor);
      case '16':
        return this.readDetail(record, cursor);
      case '49':
        return this.readAccountTrailer(record, cursor);
      case '98':
        return this.readGroupTrailer(record, cursor);
      case '99':
        return this.readFileTrailer(record, cursor);
      default:
        return this.rejectRecord(record, `record code ${record.head.code} is not expected here`);
    }
  }

  private readFileHeader(record: LogicalRecord, cursor: FieldCursor): LineDisposition {
    if (this.file !== undefined) return this.rejectRecord(record, 'a second 01 file header');
    const senderId = cursor.next() ?? '';
    cursor.next(); // receiver
    cursor.next(); // creation date
    cursor.next(); // creation time
    const fileId = cursor.next() ?? '';
    cursor.next(); // physical record length
    cursor.next(); // block size
    const version = cursor.next() ?? '';
    // BAI2 (version 2) and X9.121 BTRS (version 3) share the record layout this reader relies on; both are read.
    if (version !== '2' && version !== '3') {
      throw new UnreadableStatementError(`BAI file version ${quoteForReason(version)} is not supported (2 = BAI2, 3 = BTRS)`);
    }
    this.file = { senderId, fileId, version, recordCount: 1, groupTotalsSum: 0n, groupCount: 0 };
    return 'statement';
  }

  private readGroupHeader(record: LogicalRecord, cursor: FieldCursor): LineDisposition {
    if (this.fileClosed) return this.rejectRecord(record, '02 group header after the 99 file trailer');
    if (this.group !== undefined) this.reject(record.head.lineNo, 'previous group has no 98 group trailer', '');
    cursor.next(); // ultimate receiver
    cursor.next(); // originator
    cursor.next(); // group status
    const asOfText = cursor.next() ?? '';
    cursor.next(); // as-of time
    const currencyText = cursor.next() ?? '';
    const asOfDate = isoDateFromYymmdd(asOfText, 0, 'strict');
    const currency = currencyText.length === 0 ? BAI2_DEFAULT_CURRENCY : currencyText;
    this.group = {
      ...(asOfDate !== undefined && asOfText.length === 6 ? { asOfDate } : {}),
      currency,
      startLineNo: record.head.lineNo,
      recordCount: 1,
      accountTotalsSum: 0n,
      accountCount: 0,
    };
    if (asOfDate === undefined || asOfText.length !== 6) return this.rejectRecord(record, `as-of date ${quoteForReason(asOfText)} is not a YYMMDD date`);
    if (!isCurrencyCode(currency)) return this.rejectRecord(record, `group currency ${quoteForReason(currency)} is not an ISO 4217 code`);
    return 'statement';
  }

  private readAccountHeader(record: LogicalRecord, cursor: FieldCursor): LineDisposition {
    const group = this.group;
    if (group === undefined) return this.rejectRecord(record, '03 account identifier outside a group (no 02 before it)');
    if (this.accountState !== undefined)
      this.reject(record.head.lineNo, `account ${quoteForReason(this.accountState.accountNumber)} has no 49 account trailer`, '');
    const accountNumber = cursor.next() ?? '';
    const currencyText = cursor.next() ?? '';
    const currency = currencyText.length === 0 ? group.currency : currencyText;
    let amountSum = 0n;
    let opening: bigint | undefined;
    let closing: bigint | undefined;
    let problem: string | undefined;
    for (let items = 0; !cursor.atEnd() && problem === undefined; items += 1) {
      const typeCode = cursor.next() ?? '';
      // Empty fields between items (`USD,,,,,060`, a trailing `,` before `/` and an `88`) carry nothing.
      if (typeCode.length === 0) continue;
      const amountText = cursor.next() ?? '';
      cursor.next(); // item count
      const funds = readFunds(cursor);
      if (typeof funds === 'string') {
        problem = funds;
        break;
      }
      if (!/^\d{3}$/.test(typeCode)) {
        problem = `type code ${quoteForReason(typeCode)} is not three digits`;
        break;
      }
      if (amountText.length === 0) continue;
      const amount = parseSignedInteger(amountText);
      if (amount === undefined) {
        problem = `amount ${quoteForReason(amountText)} for type code ${typeCode} is not an integer in minor units`;
        break;
      }
      amountSum += amount;
      if (typeCode === '010') opening = amount;
      if (typeCode === '015') closing = amount;
    }
    let unreadableReason: string | undefined;
    if (accountNumber.length === 0) unreadableReason = 'the 03 account number is empty';
    else if (!isCurrencyCode(currency)) unreadableReason = `account currency ${quoteForReason(currency)} is not an ISO 4217 code`;
    else if (problem !== undefined) unreadableReason = problem;
    if (unreadableReason !== undefined) {
      this.accountState = { unreadableReason, accountNumber, recordCount: 1 + record.continuations.length - record.wrapLineNos.length, amountSum };
      return this.rejectRecord(record, unreadableReason);
    }
    const statementId = this.assignStatementId(accountNumber);
    this.accountState = { statementId, currency, accountNumber, recordCount: 1 + record.continuations.length - record.wrapLineNos.length, amountSum };
    const digits = minorDigitsOf(currency);
    const asOfDate = group.asOfDate;
    const statement: StatementRecord = {
      kind: 'statement',
      format: 'bai2',
      statementId,
      account: accountNumber,
      currency,
      ...(asOfDate !== undefined ? { from: asOfDate, to: asOfDate } : {}),
      ...(opening !== undefined && asOfDate !== undefined ? { openingBalance: { amount: formatMinorToDecimal(opening, digits), date: asOfDate } } : {}),
      ...(closing !== undefined && asOfDate !== undefined ? { closingBalance: { amount: formatMinorToDecimal(closing, digits), date: asOfDate } } : {}),
    };
    this.out.push(statement);
    return 'statement';
  }

  /** `<sender>-<file id>-<account>`; an account seen again in the same file gets `-2`, `-3`, … */
  private assignStatementId(accountNumber: string): string {
    const base = `${this.file?.senderId ?? ''}-${this.file?.fileId ?? ''}-${accountNumber}`;
    let candidate = base;
    for (let suffix = 2; this.usedStatementIds.has(candidate); suffix += 1) candidate = `${base}-${suffix}`;
    this.usedStatementIds.add(candidate);
    return candidate;
  }

  private readDetail(record: LogicalRecord, cursor: FieldCursor): LineDisposition {
    const accountState = this.accountState;
    if (accountState === undefined) return this.rejectRecord(record, '16 transaction detail outside an account (no 03 before it)');
    const typeCode = cursor.next() ?? '';
    const amountText = cursor.next() ?? '';
    const funds = readFunds(cursor);
    const bankRef = cursor.next() ?? '';
    const customerRef = cursor.next() ?? '';
    const text = cursor.rest();
    const amount = amountText.length === 0 ? undefined : parseSignedInteger(amountText);
    if (amount !== undefined) accountState.amountSum += amount;
    if (accountState.unreadableReason !== undefined || accountState.statementId === undefined || accountState.currency === undefined) {
      return this.rejectRecord(record, `detail of an account that could not be read: ${accountState.unreadableReason ?? 'unknown account'}`);
    }
    if (!/^\d{3}$/.test(typeCode)) return this.rejectRecord(record, `type code ${quoteForReason(typeCode)} is not three digits`);
    if (amountText.length === 0) return this.rejectRecord(record, `amount of type code ${typeCode} is empty`);
    if (amount === undefined || amountText.startsWith('-')) {
      return this.rejectRecord(record, `amount ${quoteForReason(amountText)} is not an unsigned integer in minor units (the type code gives the direction)`);
    }
    if (typeof funds === 'string') return this.rejectRecord(record, funds);
    const direction = directionOf(typeCode, this.typeCodeDirections);
    if (direction === undefined) {
      return this.rejectRecord(
        record,
        `type code ${typeCode} has no standard direction (credits are 100–399, debits 400–699); configure it as a bank-specific code`,
      );
    }
    const currency = accountState.currency;
    const bookingDate = this.group?.asOfDate;
    const valueDate = funds.valueDate ?? bookingDate;
    const entry: EntryRecord = {
      kind: 'entry',
      statementId: accountState.statementId,
      lineNo: record.head.lineNo,
      amount: formatMinorToDecimal(direction === 'credit' ? amount : -amount, minorDigitsOf(currency)),
      currency,
      ...(bookingDate !== undefined ? { bookingDate } : {}),
      ...(valueDate !== undefined ? { valueDate } : {}),
      ...(bankRef.length > 0 ? { bankRef } : {}),
      ...(customerRef.length > 0 ? { customerRef } : {}),
      bankTxCode: typeCode,
      ...(text.length > 0 ? { remittance: text } : {}),
      reversal: false,
    };
    this.out.push(entry);
    return 'entry';
  }

  private readAccountTrailer(record: LogicalRecord, cursor: FieldCursor): LineDisposition {
    const accountState = this.accountState;
    const group = this.group;
    if (accountState === undefined || group === undefined) return this.rejectRecord(record, '49 account trailer without an open account (no 03 before it)');
    this.accountState = undefined;
    const totalText = cursor.next() ?? '';
    const countText = cursor.next() ?? '';
    group.accountCount += 1;
    const problems: string[] = [];
    // MoJ's samples leave the 49 total blank; a blank total is not checked (nor added to the group total).
    if (totalText.length > 0) {
      const total = parseSignedInteger(totalText);
      if (total === undefined) problems.push(`control total ${quoteForReason(totalText)} is not an integer`);
      else {
        group.accountTotalsSum += total;
        if (total !== accountState.amountSum) {
          problems.push(`control total ${total} does not match the sum of the account's amounts ${accountState.amountSum}`);
        }
      }
    } else group.accountTotalsSum += accountState.amountSum;
    checkCount(countText, accountState.recordCount, 'account', problems);
    if (problems.length > 0) return this.rejectRecord(record, `49 account trailer of ${quoteForReason(accountState.accountNumber)}: ${problems.join('; ')}`);
    return 'statement';
  }

  private readGroupTrailer(record: LogicalRecord, cursor: FieldCursor): LineDisposition {
    const group = this.group;
    const file = this.file;
    if (group === undefined || file === undefined) return this.rejectRecord(record, '98 group trailer without an open group (no 02 before it)');
    if (this.accountState !== undefined) {
      this.reject(record.head.lineNo, `account ${quoteForReason(this.accountState.accountNumber)} has no 49 account trailer`, '');
      this.accountState = undefined;
    }
    this.group = undefined;
    file.groupCount += 1;
    const totalText = cursor.next() ?? '';
    const accountsText = cursor.next() ?? '';
    const countText = cursor.next() ?? '';
    const problems: string[] = [];
    const total = parseSignedInteger(totalText);
    if (total === undefined) problems.push(`control total ${quoteForReason(totalText)} is not an integer`);
    else {
      file.groupTotalsSum += total;
      if (total !== group.accountTotalsSum) problems.push(`control total ${total} does not match the sum of the 49 totals ${group.accountTotalsSum}`);
    }
    checkCount(accountsText, group.accountCount, 'account', problems, 'number of accounts');
    checkCount(countText, group.recordCount, 'group', problems);
    if (problems.length > 0) return this.rejectRecord(record, `98 group trailer: ${problems.join('; ')}`);
    return 'statement';
  }

  private readFileTrailer(record: LogicalRecord, cursor: FieldCursor): LineDisposition {
    const file = this.file;
    if (file === undefined || this.fileClosed) return this.rejectRecord(record, 'a second 99 file trailer');
    if (this.group !== undefined) {
      this.reject(record.head.lineNo, 'group has no 98 group trailer', '');
      this.group = undefined;
    }
    this.fileClosed = true;
    const totalText = cursor.next() ?? '';
    const groupsText = cursor.next() ?? '';
    const countText = cursor.next() ?? '';
    const problems: string[] = [];
    const total = parseSignedInteger(totalText);
    if (total === undefined) problems.push(`control total ${quoteForReason(totalText)} is not an integer`);
    else if (total !== file.groupTotalsSum) problems.push(`control total ${total} does not match the sum of the 98 totals ${file.groupTotalsSum}`);
    checkCount(groupsText, file.groupCount, 'group', problems, 'number of groups');
    checkCount(countText, file.recordCount, 'file', problems);
    if (problems.length > 0) return this.rejectRecord(record, `99 file trailer: ${problems.join('; ')}`);
    return 'statement';
  }

  private rejectRecord(record: LogicalRecord, reason: string): LineDisposition {
    this.reject(record.head.lineNo, reason, record.head.raw);
    return 'rejected';
  }

  private reject(lineNo: number, reason: string, raw: string): void {
    const rejected: RejectedRecord = { kind: 'rejected', lineNo, reason, raw: clipRaw(raw) };
    this.out.push(rejected);
  }

  private account(lineNo: number, disposition: LineDisposition): void {
    this.onLineAccounted?.(lineNo, disposition);
  }
}

function startsWithRecordCode(text: string): boolean {
  return text.length >= 3 && text.charAt(2) === ',' && RECORD_CODES.has(text.slice(0, 2));
}

function splitSegments(trimmed: string, lineNo: number, raw: string): Segment[] {
  const segments: Segment[] = [];
  let start = 0;
  RECORD_BOUNDARY.lastIndex = 0;
  const pushSegment = (end: number): void => {
    const piece = trimmed.slice(start, end).trim();
    if (piece.length === 0) return;
    segments.push({ code: piece.slice(0, 2), content: piece.slice(3), lineNo, raw: piece.length === trimmed.length ? raw : piece });
  };
  for (let match = RECORD_BOUNDARY.exec(trimmed); match !== null; match = RECORD_BOUNDARY.exec(trimmed)) {
    pushSegment(match.index);
    start = match.index + match[0].length;
    if (match[0].length === 0) RECORD_BOUNDARY.lastIndex += 1;
  }
  pushSegment(trimmed.length);
  return segments;
}

/** Reads the funds type and the fields it brings; returns the value date for `V`, or a reason. */
function readFunds(cursor: FieldCursor): { valueDate?: string } | string {
  const fundsType = (cursor.next() ?? '').toUpperCase();
  switch (fundsType) {
    case '':
    case 'Z':
    case '0':
    case '1':
    case '2':
      return {};
    case 'S':
      cursor.next();
      cursor.next();
      cursor.next();
      return {};
    case 'V': {
      const dateText = cursor.next() ?? '';
      cursor.next(); // time
      const valueDate = isoDateFromYymmdd(dateText, 0, 'strict');
      if (valueDate === undefined || dateText.length !== 6) return `funds type V value date ${quoteForReason(dateText)} is not a YYMMDD date`;
      return { valueDate };
    }
    case 'D': {
      const countText = cursor.next() ?? '';
      if (!/^\d{1,4}$/.test(countText) || Number(countText) > FUNDS_DISTRIBUTIONS_MAX) {
        return `funds type D distribution count ${quoteForReason(countText)} is not a number up to ${FUNDS_DISTRIBUTIONS_MAX}`;
      }
      for (let pair = 0; pair < Number(countText); pair += 1) {
        cursor.next();
        cursor.next();
      }
      return {};
    }
    default:
      return `funds type ${quoteForReason(fundsType)} is not Z, 0, 1, 2, S, V or D`;
  }
}

function parseSignedInteger(text: string): bigint | undefined {
  if (!/^[+-]?\d{1,30}$/.test(text)) return undefined;
  return BigInt(text.startsWith('+') ? text.slice(1) : text);
}

function checkCount(text: string, expected: number, scope: string, problems: string[], label = 'record count'): void {
  if (text.length === 0) return;
  if (!/^\d{1,9}$/.test(text)) {
    problems.push(`${label} ${quoteForReason(text)} is not a number`);
    return;
  }
  if (Number(text) !== expected) problems.push(`${label} ${text} does not match the ${expected} found in the ${scope}`);
}

function directionOf(typeCode: string, custom: ReadonlyMap<string, Bai2Direction>): Bai2Direction | undefined {
  const configured = custom.get(typeCode);
  if (configured !== undefined) return configured;
  const code = Number(typeCode);
  if (code >= 100 && code <= 399) return 'credit';
  if (code >= 400 && code <= 699) return 'debit';
  return undefined;
}

/** The synchronous form of parseBai2 (see TextLineReader). */
export function createBai2LineReader(options: Bai2ParseOptions = {}): TextLineReader {
  return new Bai2Reader(options.lineLengthMax ?? TEXT_LINE_LENGTH_MAX, options.onLineAccounted, options.typeCodeDirections ?? new Map());
}

export async function* parseBai2(lines: AsyncIterable<SourceLine>, options: Bai2ParseOptions = {}): AsyncGenerator<CanonicalRecord> {
  const reader = new Bai2Reader(options.lineLengthMax ?? TEXT_LINE_LENGTH_MAX, options.onLineAccounted, options.typeCodeDirections ?? new Map());
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

export const bai2Parser: TextFormatParser = {
  format: 'bai2',
  parse: (lines: AsyncIterable<SourceLine>, options?: TextParseOptions) => parseBai2(lines, options),
};
