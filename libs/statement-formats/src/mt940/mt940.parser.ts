import { DECIMAL_STRING_LENGTH_MAX, MoneyFormatError, formatMinorToDecimal, isCurrencyCode, minorDigitsOf, parseDecimalToMinor } from '@recon/money';
import { UnreadableStatementError, type CanonicalRecord, type DatedAmount, type EntryRecord, type RejectedRecord, type StatementRecord } from '../canonical';
import type { SourceLine, TextFormatParser, TextParseOptions } from '../parser.port';
import { isoDateFromYymmdd, isoDateOf, readDigits } from './calendar-date';
import { TEXT_LINE_LENGTH_MAX, clipRaw, quoteForReason, type LineAccountingOptions, type LineDisposition, type TextLineReader } from './line-accounting';
import { parseMt940Details, type Mt940Details } from './mt940-details';

/**
 * Streaming MT940 / MT942 reader. One pass, bounded memory:
 * - A statement's records are buffered until its closing balance (`:62F:`) arrives, because the canonical
 *   `statement` record (which carries the closing balance) must come before its entries. Past
 *   ENTRIES_BUFFERED_PER_STATEMENT_MAX buffered records the statement record is emitted without the closing balance
 *   and the rest streams through (documented trade-off in docs/statement-formats-text.md).
 * - Lines are classified by their first characters only; `:61:` is read by a hand-written scanner (no regex
 *   backtracking on hostile input).
 */

export const ENTRIES_BUFFERED_PER_STATEMENT_MAX = 200_000;
/** Lines before the first `:20:` (FIN envelopes, bank pre-headers, Danske free-text preambles). Past it: not MT940. */
export const PREAMBLE_LINES_MAX = 1_000;
/** Continuation lines of one field. SWIFT allows 6 for `:86:`; banks exceed it, but not by hundreds. */
export const FIELD_CONTINUATION_LINES_MAX = 500;

type Mt9xxFormat = 'mt940' | 'mt942';

interface Field {
  readonly tag: string;
  readonly startLineNo: number;
  endLineNo: number;
  /** The first physical line, whole (for `raw`). */
  readonly raw: string;
  /** Field content: the first line after the tag, then each continuation line. */
  readonly lines: string[];
}

/**
 * Records held for one statement (or before the first one), with their line ranges and source text in parallel
 * arrays: no wrapper object per buffered entry, which matters for statements of many thousand entries.
 */
class RecordBuffer {
  readonly records: CanonicalRecord[] = [];
  /** start, end line numbers, two per record. */
  readonly lineRanges: number[] = [];
  /** The `:61:` line of an entry, kept so that the entry can still be rejected with its text. */
  readonly raws: string[] = [];

  get length(): number {
    return this.records.length;
  }

  push(record: CanonicalRecord, startLineNo: number, endLineNo: number, raw: string): void {
    this.records.push(record);
    this.lineRanges.push(startLineNo, endLineNo);
    this.raws.push(raw);
  }

  clear(): void {
    this.records.length = 0;
    this.lineRanges.length = 0;
    this.raws.length = 0;
  }
}

interface Balance {
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly date: string;
}

interface StatementState {
  readonly reference: string;
  readonly referenceLineNo: number;
  readonly referenceRaw: string;
  statementId?: string;
  account?: string;
  sequence?: string;
  currency?: string;
  opening?: Balance;
  closing?: Balance;
  reportDate?: string;
  /** Header field line ranges, reported when the statement record is emitted. */
  readonly headerRanges: [number, number][];
  readonly buffered: RecordBuffer;
  headerEmitted: boolean;
  /** Set once the statement record cannot be produced: every record of the statement is then rejected. */
  unreadableReason?: string;
  entryCount: number;
  pendingEntry?: { line61: Field; details: Field[] };
}

/** An entry under construction: optional keys are assigned in canonical order, `reversal` last. */
type EntryDraft = { -readonly [K in keyof EntryRecord]?: EntryRecord[K] };

const NO_DETAILS: Mt940Details = {};

const KNOWN_PRE_TAGS: ReadonlySet<string> = new Set(['940', '9401', '942']);

export class Mt9xxReader implements TextLineReader {
  private readonly out: CanonicalRecord[] = [];
  private readonly usedStatementIds = new Set<string>();
  private readonly preamble = new RecordBuffer();
  private readonly dates: LastDates = { valueKey: '', value: '', entryKey: '', entry: '' };
  private statement: StatementState | undefined;
  private field: Field | undefined;
  private pendingDash: SourceLine | undefined;
  private inMessage = false;
  private statementsSeen = 0;
  private preambleLines = 0;
  private lastLineNo = 0;

  constructor(
    private readonly format: Mt9xxFormat,
    private readonly lineLengthMax: number,
    private readonly onLineAccounted: ((lineNo: number, disposition: LineDisposition) => void) | undefined,
    private readonly entriesBufferedMax: number = ENTRIES_BUFFERED_PER_STATEMENT_MAX,
  ) {}

  /** Feeds one line; returns records ready to be yielded (the same array, drained by the caller). */
  push(line: SourceLine): CanonicalRecord[] {
    this.out.length = 0;
    this.lastLineNo = line.lineNo;
    let text = line.text;
    if (line.lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    // Transport control characters around messages: SOH/ETX (0x01/0x03, `-\x03` after mBank's MT942) and the DOS
    // end-of-file Ctrl-Z (0x1A), sometimes glued to the next file's first line. TAB is text.
    if (isControlChar(text.charCodeAt(0)) || isControlChar(text.charCodeAt(text.length - 1))) text = stripControlChars(text);
    if (this.pendingDash !== undefined) this.resolveDash(text);
    if (text.length > this.lineLengthMax) {
      this.closeField();
      this.rejectLines(line.lineNo, line.lineNo, `line is ${text.length} characters long, over the limit of ${this.lineLengthMax}`, text);
      return this.out;
    }
    this.classify(line.lineNo, text);
    return this.out;
  }

  finish(): CanonicalRecord[] {
    this.out.length = 0;
    if (this.pendingDash !== undefined) this.resolveDash(undefined);
    this.closeStatement();
    if (this.statementsSeen === 0) {
      throw new UnreadableStatementError(
        this.lastLineNo === 0
          ? `${this.format.toUpperCase()} file is empty`
          : `not an ${this.format.toUpperCase()} file: no line starts a statement with ':20:'`,
      );
    }
    return this.out;
  }

  private classify(lineNo: number, text: string): void {
    const first = text.charCodeAt(0);
    if (first === 123 /* { */) {
      // SWIFT FIN envelope `{1:…}{2:…}{4:` — noise, except a field that follows `{4:` on the same line.
      const blockStart = text.indexOf('{4:');
      const rest = blockStart === -1 ? '' : text.slice(blockStart + 3);
      if (rest.startsWith(':')) {
        this.classify(lineNo, rest);
        return;
      }
      this.closeMessage();
      this.account(lineNo, 'noise');
      return;
    }
    if (first === 58 /* : */) {
      const tagEnd = text.indexOf(':', 1);
      const tag = text.slice(1, tagEnd);
      // Inside `:86:` a wrapped line can look like a tag (`:26:37 Fo?25…`): only known tags start a field there.
      const wrappedDetails = this.field?.tag === '86' && !KNOWN_TAGS.has(tag);
      if (tagEnd >= 3 && tagEnd <= 6 && isTagText(tag) && !wrappedDetails) {
        this.startField(lineNo, text, tag, text.slice(tagEnd + 1));
        return;
      }
    }
    if (this.inMessage && isTerminatorCandidate(text)) {
      this.pendingDash = { lineNo, text };
      return;
    }
    if (this.field !== undefined) {
      if (this.field.lines.length > FIELD_CONTINUATION_LINES_MAX) {
        this.rejectLines(lineNo, lineNo, `field :${this.field.tag}: continues past ${FIELD_CONTINUATION_LINES_MAX} lines`, text);
        return;
      }
      this.field.lines.push(text);
      this.field.endLineNo = lineNo;
      return;
    }
    if (this.inMessage && text.trim().length > 0) {
      this.rejectLines(lineNo, lineNo, 'text line outside any field (a field starts with a tag like :61:)', text);
      return;
    }
    this.noteNoise(lineNo);
  }

  private noteNoise(lineNo: number): void {
    if (this.statementsSeen === 0) {
      this.preambleLines += 1;
      if (this.preambleLines > PREAMBLE_LINES_MAX) {
        throw new UnreadableStatementError(`not an ${this.format.toUpperCase()} file: no ':20:' statement start in the first ${PREAMBLE_LINES_MAX} lines`);
      }
    }
    this.account(lineNo, 'noise');
  }

  /**
   * A `-` line ends the message, unless it sits inside `:86:` and the next line does not begin a new message
   * (Rabobank and ING wrap `:86:` with a lone `-`).
   */
  private resolveDash(nextText: string | undefined): void {
    const dash = this.pendingDash;
    this.pendingDash = undefined;
    if (dash === undefined) return;
    if (this.field?.tag === '86' && nextText !== undefined && !startsNewMessage(nextText)) {
      this.field.lines.push(dash.text);
      this.field.endLineNo = dash.lineNo;
      return;
    }
    this.closeMessage();
    this.account(dash.lineNo, 'noise');
  }

  private startField(lineNo: number, raw: string, tag: string, content: string): void {
    this.closeField();
    if (KNOWN_PRE_TAGS.has(tag) && content.trim().length === 0) {
      // Rabobank `:940:` / `:9401:` pre-tags between messages.
      this.closeMessage();
      this.noteNoise(lineNo);
      return;
    }
    if (tag === '20') {
      this.closeStatement();
      this.inMessage = true;
    } else if (!this.inMessage) {
      // A field outside any statement: before the first `:20:` it is held (the file may still prove unreadable).
      const where = this.statementsSeen === 0 ? 'before the first :20: statement start' : "after its message ended ('-' line) and before the next :20:";
      this.rejectLines(lineNo, lineNo, `field :${tag}: ${where}`, raw);
      return;
    }
    this.field = { tag, startLineNo: lineNo, endLineNo: lineNo, raw, lines: [content] };
  }

  private closeMessage(): void {
    this.closeStatement();
    this.inMessage = false;
  }

  private closeField(): void {
    const field = this.field;
    if (field === undefined) return;
    this.field = undefined;
    this.processField(field);
  }

  private processField(field: Field): void {
    const tag = field.tag;
    if (tag === '20') {
      this.openStatement(field);
      return;
    }
    const statement = this.statement;
    if (statement === undefined) {
      this.rejectLines(field.startLineNo, field.endLineNo, `field :${tag}: outside a statement`, field.raw);
      return;
    }
    if (tag === '86' && statement.pendingEntry !== undefined) {
      statement.pendingEntry.details.push(field);
      return;
    }
    this.finishEntry(statement);
    switch (tag) {
      case '61':
        statement.pendingEntry = { line61: field, details: [] };
        return;
      case '21':
      case '64':
      case '65':
      case '65F':
      case '86':
      case 'NS':
      case '34':
        // Related reference, available / forward balances, statement-level `:86:` summaries, non-SWIFT `:NS:`
        // and the MT942 `:90D:/:90C:` counts do not enter the canonical records (StatementChecker sums entries).
        return this.acceptStatementField(statement, field);
      case '25':
        return this.readAccount(statement, field);
      case '28':
      case '28C':
        statement.sequence = joinTrimmed(field);
        return this.acceptStatementField(statement, field);
      case '60F':
      case '60M':
        return this.readBalance(statement, field, 'opening');
      case '62F':
      case '62M':
        return this.readBalance(statement, field, 'closing');
      case '13':
      case '13D':
        return this.readReportDate(statement, field);
      case '34F':
        return this.readFloorLimit(statement, field);
      case '90D':
      case '90C':
        return this.readEntryTotals(statement, field);
      default:
        this.rejectField(statement, field, `unknown field tag :${tag}:`);
    }
  }

  private openStatement(field: Field): void {
    // mBank wraps a long `:20:` reference onto the next line: join without a separator.
    const reference = field.lines.map((line) => line.trim()).join('');
    this.statementsSeen += 1;
    const statement: StatementState = {
      reference,
      referenceLineNo: field.startLineNo,
      referenceRaw: field.raw,
      headerRanges: [[field.startLineNo, field.endLineNo]],
      buffered: new RecordBuffer(),
      headerEmitted: false,
      entryCount: 0,
    };
    if (reference.length === 0) statement.unreadableReason = 'the :20: transaction reference is empty';
    this.statement = statement;
    // Records held before the first statement (stray fields in the preamble) are released in file order.
    const held = this.preamble;
    for (let index = 0; index < held.length; index += 1) {
      const record = held.records[index];
      if (record !== undefined) this.emitRecord(record, held.lineRanges[2 * index] ?? 0, held.lineRanges[2 * index + 1] ?? 0);
    }
    held.clear();
  }

  private acceptStatementField(statement: StatementState, field: Field): void {
    if (statement.headerEmitted) this.accountRange(field.startLineNo, field.endLineNo, 'statement');
    else statement.headerRanges.push([field.startLineNo, field.endLineNo]);
  }

  private rejectField(statement: StatementState, field: Field, reason: string): void {
    this.bufferOrEmit(statement, rejected(field.startLineNo, reason, field.raw), field.startLineNo, field.endLineNo, field.raw);
  }

  private readAccount(statement: StatementState, field: Field): void {
    if (statement.entryCount > 0 || statement.account !== undefined) {
      return this.rejectField(statement, field, 'a second :25: account inside one statement (missing :20:?)');
    }
    const account = joinTrimmed(field);
    if (account.length === 0) return this.rejectField(statement, field, 'the :25: account identification is empty');
    statement.account = account;
    this.acceptStatementField(statement, field);
  }

  private readBalance(statement: StatementState, field: Field, which: 'opening' | 'closing'): void {
    const parsed = parseBalance(joinTrimmed(field));
    if (typeof parsed === 'string') return this.rejectField(statement, field, `:${field.tag}: ${parsed}`);
    if (which === 'opening') {
      if (statement.opening !== undefined || statement.entryCount > 0) {
        return this.rejectField(statement, field, `a second opening balance :${field.tag}: in one statement (missing :20:?)`);
      }
      if (statement.currency !== undefined && statement.currency !== parsed.currency && statement.headerEmitted) {
        return this.rejectField(statement, field, `opening balance currency ${parsed.currency} differs from ${statement.currency}`);
      }
      statement.opening = parsed;
      statement.currency = parsed.currency;
    } else {
      if (statement.closing !== undefined) {
        return this.rejectField(statement, field, `a second closing balance :${field.tag}: in one statement (missing :20:?)`);
      }
      if (statement.currency !== undefined && statement.currency !== parsed.currency) {
        return this.rejectField(statement, field, `closing balance currency ${parsed.currency} differs from the statement's ${statement.currency}`);
      }
      if (statement.headerEmitted) {
        // Spilled statement: the statement record is out already; the closing balance cannot be added any more.
        this.accountRange(field.startLineNo, field.endLineNo, 'statement');
        return;
      }
      statement.closing = parsed;
      statement.currency ??= parsed.currency;
    }
    this.acceptStatementField(statement, field);
  }

  private readReportDate(statement: StatementState, field: Field): void {
    // MT942 `:13D:` is YYMMDDhhmm±hhmm; only the calendar date enters the statement record (from/to).
    const text = joinTrimmed(field).replace(/\s+/g, '');
    const date = isoDateFromYymmdd(text, 0, 'strict');
    if (date === undefined) return this.rejectField(statement, field, `:${field.tag}: date-time ${quoteForReason(text)} does not start with a YYMMDD date`);
    statement.reportDate ??= date;
    this.acceptStatementField(statement, field);
  }

  private readFloorLimit(statement: StatementState, field: Field): void {
    const text = joinTrimmed(field);
    const currency = text.slice(0, 3);
    if (!isCurrencyCode(currency)) return this.rejectField(statement, field, `:34F: floor limit currency ${quoteForReason(currency)} is not an ISO 4217 code`);
    statement.currency ??= currency;
    this.acceptStatementField(statement, field);
  }

  /** MT942 `:90D:`/`:90C:` = number of entries + currency + sum. Read for shape only: the entries are the truth. */
  private readEntryTotals(statement: StatementState, field: Field): void {
    const text = joinTrimmed(field);
    const match = /^(\d{1,5})([A-Z]{3})(\d{1,15}[,.]\d{0,4})$/.exec(text);
    if (match === null) return this.rejectField(statement, field, `:${field.tag}: ${quoteForReason(text)} is not <count><currency><amount> (like 2EUR123,45)`);
    if (!isCurrencyCode(match[2] ?? ''))
      return this.rejectField(statement, field, `:${field.tag}: currency ${quoteForReason(match[2] ?? '')} is not an ISO 4217 code`);
    this.acceptStatementField(statement, field);
  }

  private finishEntry(statement: StatementState): void {
    const pending = statement.pendingEntry;
    if (pending === undefined) return;
    statement.pendingEntry = undefined;
    statement.entryCount += 1;
    const endLineNo =
      pending.details.length === 0 ? pending.line61.endLineNo : (pending.details[pending.details.length - 1]?.endLineNo ?? pending.line61.endLineNo);
    const currency = statement.currency ?? currencyFromAccount(statement.account);
    const result =
      currency === undefined
        ? 'statement line before any balance (:60F:) or floor limit (:34F:) gives the currency'
        : readStatementLine(pending.line61, pending.details, currency, statement.statementId ?? this.assignStatementId(statement), this.dates);
    const line61 = pending.line61;
    if (typeof result === 'string') {
      this.bufferOrEmit(statement, rejected(line61.startLineNo, result, line61.raw), line61.startLineNo, endLineNo, line61.raw);
      return;
    }
    if (statement.currency === undefined) statement.currency = currency;
    this.bufferOrEmit(statement, result, line61.startLineNo, endLineNo, line61.raw);
  }

  private bufferOrEmit(statement: StatementState, record: CanonicalRecord, startLineNo: number, endLineNo: number, raw: string): void {
    if (statement.headerEmitted) {
      this.emitForStatement(statement, record, startLineNo, endLineNo, raw);
      return;
    }
    statement.buffered.push(record, startLineNo, endLineNo, raw);
    if (statement.buffered.length >= this.entriesBufferedMax) this.emitStatementHeader(statement);
  }

  /** Emits the statement record (as complete as known now), then everything buffered; later records stream. */
  private emitStatementHeader(statement: StatementState): void {
    if (statement.headerEmitted) return;
    statement.headerEmitted = true;
    const record = this.statementRecord(statement);
    if (typeof record === 'string') {
      statement.unreadableReason = record;
      this.out.push(rejected(statement.referenceLineNo, record, statement.referenceRaw));
      for (const [start, end] of statement.headerRanges) this.accountRange(start, end, 'rejected');
    } else {
      this.out.push(record);
      for (const [start, end] of statement.headerRanges) this.accountRange(start, end, 'statement');
    }
    const buffer = statement.buffered;
    for (let index = 0; index < buffer.length; index += 1) {
      const record = buffer.records[index];
      if (record === undefined) continue;
      this.emitForStatement(statement, record, buffer.lineRanges[2 * index] ?? 0, buffer.lineRanges[2 * index + 1] ?? 0, buffer.raws[index] ?? '');
    }
    buffer.clear();
  }

  private emitForStatement(statement: StatementState, record: CanonicalRecord, startLineNo: number, endLineNo: number, raw: string): void {
    if (statement.unreadableReason !== undefined && record.kind === 'entry') {
      this.out.push(rejected(record.lineNo, `entry of a statement that could not be read: ${statement.unreadableReason}`, raw));
      this.accountRange(startLineNo, endLineNo, 'rejected');
      return;
    }
    this.emitRecord(record, startLineNo, endLineNo);
  }

  /** Emits an entry or rejected record and accounts for its lines accordingly. */
  private emitRecord(record: CanonicalRecord, startLineNo: number, endLineNo: number): void {
    this.out.push(record);
    this.accountRange(startLineNo, endLineNo, record.kind === 'entry' ? 'entry' : 'rejected');
  }

  private closeStatement(): void {
    this.closeField();
    const statement = this.statement;
    if (statement === undefined) {
      // Stray fields before any statement stay held until the file proves to hold one (see finish()).
      return;
    }
    this.finishEntry(statement);
    this.emitStatementHeader(statement);
    this.statement = undefined;
  }

  private statementRecord(statement: StatementState): StatementRecord | string {
    if (statement.unreadableReason !== undefined) return statement.unreadableReason;
    if (statement.account === undefined) return `statement ${quoteForReason(statement.reference)} has no :25: account identification`;
    const currency = statement.currency ?? currencyFromAccount(statement.account);
    if (currency === undefined) {
      return `statement ${quoteForReason(statement.reference)} has no balance (:60F:/:62F:) or floor limit (:34F:) giving its currency`;
    }
    const statementId = statement.statementId ?? this.assignStatementId(statement);
    const from = statement.opening?.date ?? statement.reportDate;
    const to = statement.closing?.date ?? statement.reportDate;
    return {
      kind: 'statement',
      format: this.format,
      statementId,
      account: statement.account,
      currency,
      ...(statement.sequence !== undefined && statement.sequence.length > 0 ? { sequence: statement.sequence } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(statement.opening !== undefined ? { openingBalance: datedAmount(statement.opening) } : {}),
      ...(statement.closing !== undefined ? { closingBalance: datedAmount(statement.closing) } : {}),
    };
  }

  /**
   * statementId is the `:20:` reference. Banks reuse one reference for every statement of a file (`STARTUMS`,
   * `940S170606`), so a reference already used in this file gets `/<:28C:>` appended, and, if that is taken too,
   * `/<n>` (the n-th statement in the file). The first statement keeps the bare reference.
   */
  private assignStatementId(statement: StatementState): string {
    let candidate = statement.reference;
    if (this.usedStatementIds.has(candidate) && statement.sequence !== undefined && statement.sequence.length > 0) {
      candidate = `${statement.reference}/${statement.sequence}`;
    }
    if (this.usedStatementIds.has(candidate)) candidate = `${candidate}/${this.statementsSeen}`;
    for (let suffix = 2; this.usedStatementIds.has(candidate); suffix += 1) candidate = `${statement.reference}/${this.statementsSeen}.${suffix}`;
    this.usedStatementIds.add(candidate);
    statement.statementId = candidate;
    return candidate;
  }

  private rejectLines(startLineNo: number, endLineNo: number, reason: string, raw: string): void {
    // Whatever is open ends before the rejected line: records stay in file order, and a later `:86:` cannot attach
    // to an entry across the rejected line (an entry's lines must be contiguous).
    this.closeField();
    if (this.statement !== undefined) this.finishEntry(this.statement);
    const record = rejected(startLineNo, reason, raw);
    const statement = this.statement;
    if (statement !== undefined) this.bufferOrEmit(statement, record, startLineNo, endLineNo, raw);
    else if (this.statementsSeen === 0) {
      this.preamble.push(record, startLineNo, endLineNo, raw);
      this.preambleLines += 1;
      if (this.preambleLines > PREAMBLE_LINES_MAX) {
        throw new UnreadableStatementError(`not an ${this.format.toUpperCase()} file: no ':20:' statement start in the first ${PREAMBLE_LINES_MAX} lines`);
      }
    } else this.emitRecord(record, startLineNo, endLineNo);
  }

  private account(lineNo: number, disposition: LineDisposition): void {
    this.onLineAccounted?.(lineNo, disposition);
  }

  private accountRange(startLineNo: number, endLineNo: number, disposition: LineDisposition): void {
    if (this.onLineAccounted === undefined) return;
    for (let lineNo = startLineNo; lineNo <= endLineNo; lineNo += 1) this.onLineAccounted(lineNo, disposition);
  }
}

const IBAN_SHAPE = /^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/;

/** Rabobank, ASN and SNS put the counterparty IBAN alone on the `:61:` supplementary-details line. */
function ibanInSupplementaryDetails(line61: Field): string | undefined {
  if (line61.lines.length < 2) return undefined;
  const supplementary = (line61.lines[1] ?? '').trim();
  return IBAN_SHAPE.test(supplementary) ? supplementary : undefined;
}

/** Transaction type codes repeat on every line; one shared string per code keeps buffered entries small. */
const INTERNED_CODES = new Map<string, string>();
const INTERNED_CODES_MAX = 1_000;

function internCode(code: string): string {
  const known = INTERNED_CODES.get(code);
  if (known !== undefined) return known;
  if (INTERNED_CODES.size < INTERNED_CODES_MAX) INTERNED_CODES.set(code, code);
  return code;
}

function isTagText(tag: string): boolean {
  for (let index = 0; index < tag.length; index += 1) {
    const code = tag.charCodeAt(index);
    if (!((code >= 48 && code <= 57) || (code >= 65 && code <= 90))) return false;
  }
  return true;
}

function isControlChar(code: number): boolean {
  return code < 32 && code !== 9;
}

function stripControlChars(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isControlChar(text.charCodeAt(start))) start += 1;
  while (end > start && isControlChar(text.charCodeAt(end - 1))) end -= 1;
  return text.slice(start, end);
}

/** Tags that start a field even inside a wrapped `:86:`. */
const KNOWN_TAGS: ReadonlySet<string> = new Set([
  '20',
  '21',
  '25',
  '28',
  '28C',
  '60F',
  '60M',
  '61',
  '62F',
  '62M',
  '64',
  '65',
  '86',
  '13',
  '13D',
  '34F',
  '90D',
  '90C',
  'NS',
  '940',
  '9401',
  '942',
]);

/**
 * After a `-` line: does this line begin another message (so the `-` was a terminator)? A `:20:`, a Rabobank
 * pre-tag, a FIN envelope, a blank line or a bank pre-header (`0000 01INGBNL2AXXXX00001`, `940 00`, a bare BIC) does.
 * Any other field or text continues the open field (Rabobank and ING wrap `:86:` with a lone `-`).
 */
function startsNewMessage(text: string): boolean {
  if (text.trim().length === 0 || text.charCodeAt(0) === 123) return true;
  const tag = tagOf(text);
  if (tag !== undefined) return tag === '20' || KNOWN_PRE_TAGS.has(tag);
  return /^\d{4} \d{2}[A-Z0-9]/.test(text) || /^94[02]( 00)?\s*$/.test(text) || /^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?\s*$/.test(text);
}

function tagOf(text: string): string | undefined {
  if (text.charCodeAt(0) !== 58) return undefined;
  const tagEnd = text.indexOf(':', 1);
  if (tagEnd < 3 || tagEnd > 6) return undefined;
  return text.slice(1, tagEnd);
}

/** `-`, ` -`, `-}`, `-}{5:…}`, `-XXX` (Van Lanschot): end-of-message markers. */
function isTerminatorCandidate(text: string): boolean {
  const trimmed = text.trim();
  if (trimmed === '-') return true;
  if (trimmed.startsWith('-}')) return true;
  return trimmed.length === 4 && trimmed.charAt(0) === '-' && /^-[A-Z]{3}$/.test(trimmed);
}

function joinTrimmed(field: Field): string {
  return field.lines.map((line) => line.trim()).join('');
}

function rejected(lineNo: number, reason: string, raw: string): RejectedRecord {
  return { kind: 'rejected', lineNo, reason, raw: clipRaw(raw) };
}

function datedAmount(balance: Balance): DatedAmount {
  return { amount: formatMinorToDecimal(balance.amountMinor, minorDigitsOf(balance.currency)), date: balance.date };
}

/** `NL77INGB0574908765EUR` / `NL10BUNQ2290325473 EUR`: some banks append the currency to `:25:`. */
function currencyFromAccount(account: string | undefined): string | undefined {
  if (account === undefined || account.length < 4) return undefined;
  const candidate = account.slice(-3);
  return isCurrencyCode(candidate) ? candidate : undefined;
}

/** Reads a SWIFT amount (`1234,56`, `0,`, `000000010000,50`, old Rabobank `1000.00`) into minor units. */
export function parseSwiftAmount(text: string, currency: string): bigint | string {
  if (text.length === 0) return 'amount is missing';
  let separators = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 44 || code === 46) separators += 1;
    else if (code < 48 || code > 57) return `amount ${quoteForReason(text)} is not a decimal number`;
  }
  if (separators > 1) return `amount ${quoteForReason(text)} is not a decimal number`;
  // SWIFT amounts always carry the decimal comma (`500,`); a bare `500` is a damaged field, not an integer.
  if (separators === 0) return `amount ${quoteForReason(text)} has no decimal comma (SWIFT writes 500 as '500,')`;
  if (text.charCodeAt(0) === 44 || text.charCodeAt(0) === 46) return `amount ${quoteForReason(text)} has no digit before the decimal comma`;
  let normalized = text.replace(',', '.');
  if (normalized.endsWith('.')) normalized = normalized.slice(0, -1);
  try {
    return parseDecimalToMinor(normalized, minorDigitsOf(currency), { allowTrailingZeros: true });
  } catch (error) {
    if (error instanceof MoneyFormatError) return `amount ${quoteForReason(text)}: ${error.message}`;
    throw error;
  }
}

/**
 * Fast exact path for the entry amount (runs once per entry): `000001234,5` with 2 minor digits → `1234.50`, by
 * string manipulation only. Undefined when the text is not a plain SWIFT amount; the caller then asks
 * parseSwiftAmount for the precise reason. Extra fraction digits are accepted only when they are zeros.
 */
export function swiftAmountToDecimal(text: string, digits: number): string | undefined {
  let separator = -1;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 44 || code === 46) {
      if (separator !== -1) return undefined;
      separator = index;
    } else if (code < 48 || code > 57) return undefined;
  }
  if (separator <= 0 || text.length > DECIMAL_STRING_LENGTH_MAX) return undefined;
  let wholeStart = 0;
  while (wholeStart < separator - 1 && text.charCodeAt(wholeStart) === 48) wholeStart += 1;
  const whole = text.slice(wholeStart, separator);
  let fraction = text.slice(separator + 1);
  if (fraction.length > digits) {
    for (let index = digits; index < fraction.length; index += 1) if (fraction.charCodeAt(index) !== 48) return undefined;
    fraction = fraction.slice(0, digits);
  } else if (fraction.length < digits) fraction = fraction.padEnd(digits, '0');
  return digits === 0 ? whole : `${whole}.${fraction}`;
}

function isZeroDecimal(decimal: string): boolean {
  for (let index = 0; index < decimal.length; index += 1) {
    const code = decimal.charCodeAt(index);
    if (code !== 48 && code !== 46) return false;
  }
  return true;
}

/** `C170605EUR000000010000,50` → balance, or a reason. */
function parseBalance(text: string): Balance | string {
  const mark = text.charAt(0);
  if (mark !== 'C' && mark !== 'D') return `balance ${quoteForReason(text)} does not start with C or D`;
  const date = isoDateFromYymmdd(text, 1, 'clamp-day');
  if (date === undefined) return `balance date ${quoteForReason(text.slice(1, 7))} is not a YYMMDD date`;
  const currency = text.slice(7, 10);
  if (!isCurrencyCode(currency)) return `balance currency ${quoteForReason(currency)} is not an ISO 4217 code`;
  const amount = parseSwiftAmount(text.slice(10).trim(), currency);
  if (typeof amount === 'string') return amount;
  return { amountMinor: mark === 'D' ? -amount : amount, currency, date };
}

function isUpperLetter(code: number): boolean {
  return code >= 65 && code <= 90;
}

function isTypeCodeChar(code: number): boolean {
  return (code >= 48 && code <= 57) || isUpperLetter(code) || (code >= 97 && code <= 122) || code === 32;
}

/**
 * Reads `:61:` YYMMDD[MMDD](C|D|RC|RD)[funds code]amount[type][customer ref][//bank ref] plus its supplementary line,
 * and the attached `:86:` fields, into an entry record, or returns the reason it cannot be read.
 */
/**
 * The dates of the previous statement line. Consecutive lines mostly share them, and reusing the strings saves
 * building two ISO dates per entry of a large file.
 */
interface LastDates {
  valueKey: string;
  value: string;
  entryKey: string;
  entry: string;
}

function readStatementLine(line61: Field, details: readonly Field[], currency: string, statementId: string, last: LastDates): EntryRecord | string {
  const text = line61.lines[0] ?? '';
  let valueDate: string | undefined;
  if (last.valueKey.length === 6 && text.startsWith(last.valueKey)) valueDate = last.value;
  else {
    valueDate = isoDateFromYymmdd(text, 0, 'clamp-day');
    if (valueDate === undefined) return `value date ${quoteForReason(text.slice(0, 6))} is not a YYMMDD date`;
    last.valueKey = text.slice(0, 6);
    last.value = valueDate;
    last.entryKey = '';
  }
  let position = 6;
  let bookingDate: string | undefined;
  const entryMonth = readDigits(text, 6, 2);
  const entryDay = readDigits(text, 8, 2);
  if (entryMonth >= 0 && entryDay >= 0) {
    if (last.entryKey.length === 4 && text.startsWith(last.entryKey, 6)) bookingDate = last.entry;
    else {
      bookingDate = inferEntryDate(valueDate, entryMonth, entryDay);
      if (bookingDate === undefined) return `entry date ${quoteForReason(text.slice(6, 10))} is not a MMDD date`;
      last.entryKey = text.slice(6, 10);
      last.entry = bookingDate;
    }
    position = 10;
  } else if (text.slice(6, 10) === '    ') {
    position = 10; // ASN Bank pads a missing entry date with spaces.
  }
  let reversal = false;
  if (text.charAt(position) === 'R') {
    reversal = true;
    position += 1;
  }
  const mark = text.charAt(position);
  if (mark !== 'C' && mark !== 'D') {
    return `debit/credit mark missing at column ${position + 1} of ${quoteForReason(text)} (expected C, D, RC or RD)`;
  }
  position += 1;
  // Optional funds code: the 3rd letter of the currency (`CR`, `DD`, `CN`, `DF`; `RCR` = RC + R). Never a reversal.
  if (isUpperLetter(text.charCodeAt(position))) position += 1;
  const amountStart = position;
  while (position < text.length) {
    const code = text.charCodeAt(position);
    if ((code >= 48 && code <= 57) || code === 44 || code === 46) position += 1;
    else break;
  }
  const digits = minorDigitsOf(currency);
  const amountText = text.slice(amountStart, position);
  const amountDecimal = swiftAmountToDecimal(amountText, digits);
  if (amountDecimal === undefined) {
    const reason = parseSwiftAmount(amountText, currency);
    return typeof reason === 'string' ? reason : `amount ${quoteForReason(amountText)} is not a decimal number`;
  }
  // RC (reversal of a credit) takes money out; RD (reversal of a debit) brings it back: the sign follows the money.
  const credit = (mark === 'C') !== reversal;
  let bankTxCode: string | undefined;
  const typeLetter = text.charAt(position);
  const noTypeNonref = text.startsWith('NONREF', position) && (text.length === position + 6 || text.startsWith('//', position + 6));
  // SWIFT says N, F or S plus three characters; banks also send other letters (`MCI0`). Old ING/Triodos/Sberbank
  // pad short codes with spaces (`NOV `, `S   `): accepted, and trimmed. Zenith omits the type (`//` follows).
  if (isUpperLetter(typeLetter.charCodeAt(0)) && !noTypeNonref) {
    if (
      position + 4 > text.length ||
      !isTypeCodeChar(text.charCodeAt(position + 1)) ||
      !isTypeCodeChar(text.charCodeAt(position + 2)) ||
      !isTypeCodeChar(text.charCodeAt(position + 3))
    ) {
      return `transaction type ${quoteForReason(text.slice(position, position + 4))} is not a letter plus three characters (like NTRF)`;
    }
    bankTxCode = internCode(text.slice(position, position + 4).trim());
    position += 4;
  }
  const rest = text.slice(position);
  const bankRefAt = rest.indexOf('//');
  let customerRef = (bankRefAt === -1 ? rest : rest.slice(0, bankRefAt)).trim();
  // Old Dutch files put the counterparty name after the reference, separated by padding.
  const paddingAt = customerRef.indexOf('  ');
  if (paddingAt !== -1) customerRef = customerRef.slice(0, paddingAt);
  const bankRef = bankRefAt === -1 ? '' : rest.slice(bankRefAt + 2).trim();
  const parsedDetails =
    details.length === 0 ? NO_DETAILS : parseMt940Details(details.length === 1 ? (details[0]?.lines ?? []) : details.flatMap((detail) => detail.lines));
  if (parsedDetails.gvc !== undefined) bankTxCode = bankTxCode === undefined ? parsedDetails.gvc : `${bankTxCode}+${parsedDetails.gvc}`;
  // Built by assignment in canonical key order (no spread temporaries: this runs once per entry of a large file).
  const entry: EntryDraft = {
    kind: 'entry',
    statementId,
    lineNo: line61.startLineNo,
    amount: credit || isZeroDecimal(amountDecimal) ? amountDecimal : `-${amountDecimal}`,
    currency,
  };
  if (bookingDate !== undefined) entry.bookingDate = bookingDate;
  entry.valueDate = valueDate;
  if (bankRef.length > 0 && bankRef !== 'NONREF') entry.bankRef = bankRef;
  if (parsedDetails.endToEndId !== undefined) entry.endToEndId = parsedDetails.endToEndId;
  if (customerRef.length > 0 && customerRef !== 'NONREF') entry.customerRef = customerRef;
  if (bankTxCode !== undefined) entry.bankTxCode = bankTxCode;
  if (parsedDetails.counterpartyName !== undefined) entry.counterpartyName = parsedDetails.counterpartyName;
  const counterpartyAccount = parsedDetails.counterpartyAccount ?? ibanInSupplementaryDetails(line61);
  if (counterpartyAccount !== undefined) entry.counterpartyAccount = counterpartyAccount;
  if (parsedDetails.remittance !== undefined) entry.remittance = parsedDetails.remittance;
  entry.reversal = reversal;
  return entry as EntryRecord;
}

/**
 * The `:61:` entry date has no year: take the value date's year, moved one year forward for a December value date
 * booked in January and one back for a January value date booked in December (Knab year roll-over).
 */
function inferEntryDate(valueDate: string, month: number, day: number): string | undefined {
  const valueYear = Number(valueDate.slice(0, 4));
  const valueMonth = Number(valueDate.slice(5, 7));
  let year = valueYear;
  if (valueMonth === 12 && month === 1) year += 1;
  else if (valueMonth === 1 && month === 12) year -= 1;
  return isoDateOf(year, month, day, 'clamp-day');
}

export interface Mt9xxParseOptions extends LineAccountingOptions {
  /** Records held per statement before the statement record is emitted without its closing balance. */
  readonly entriesBufferedMax?: number;
}

/** The synchronous form of parseMt9xx (see TextLineReader). */
export function createMt9xxLineReader(format: Mt9xxFormat, options: Mt9xxParseOptions = {}): TextLineReader {
  const entriesBufferedMax = Math.min(Math.max(options.entriesBufferedMax ?? ENTRIES_BUFFERED_PER_STATEMENT_MAX, 1), ENTRIES_BUFFERED_PER_STATEMENT_MAX);
  return new Mt9xxReader(format, options.lineLengthMax ?? TEXT_LINE_LENGTH_MAX, options.onLineAccounted, entriesBufferedMax);
}

/** Parses MT940/MT942 lines; `onLineAccounted` reports what became of each line (see line-accounting.ts). */
export async function* parseMt9xx(format: Mt9xxFormat, lines: AsyncIterable<SourceLine>, options: Mt9xxParseOptions = {}): AsyncGenerator<CanonicalRecord> {
  const entriesBufferedMax = Math.min(Math.max(options.entriesBufferedMax ?? ENTRIES_BUFFERED_PER_STATEMENT_MAX, 1), ENTRIES_BUFFERED_PER_STATEMENT_MAX);
  const reader = new Mt9xxReader(format, options.lineLengthMax ?? TEXT_LINE_LENGTH_MAX, options.onLineAccounted, entriesBufferedMax);
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

export const mt940Parser: TextFormatParser = {
  format: 'mt940',
  parse: (lines: AsyncIterable<SourceLine>, options?: TextParseOptions) => parseMt9xx('mt940', lines, options),
};

export const mt942Parser: TextFormatParser = {
  format: 'mt942',
  parse: (lines: AsyncIterable<SourceLine>, options?: TextParseOptions) => parseMt9xx('mt942', lines, options),
};
