import type { Readable } from 'node:stream';
import { IdSet } from '../domain/id-set';

/**
 * PostgreSQL's COPY text format, read: the nightly run's bulk reads (`COPY ... TO STDOUT`), rows read straight out
 * of the received chunks by byte offset. (Its bulk writes are binary: `copy-binary.ts`.)
 */

const TAB = 9;
const LF = 10;
const MINUS = 45;
const DIGIT_0 = 48;
const BACKSLASH = 92;
const LETTER_N = 78;
const LETTER_T = 116;
/** Bytes at or above this are part of a multi-byte UTF-8 sequence: a field without one decodes as latin1. */
const ASCII_END = 0x80;
/** A field with a backslash: an escape (or `\N`), decoded by `unescapeCopy`. */
const FIELD_ESCAPED = 1;
/** A field with a byte of a multi-byte UTF-8 sequence, decoded as UTF-8. */
const FIELD_NON_ASCII = 2;
/** Digits summed in a double without loss (2^53 > 10^15); a longer number is parsed from its text. */
const NUMBER_DIGITS_EXACT_MAX = 15;
/** Bytes of a column's previous value kept for `repeated` at first; grown to the longest value seen. */
const PREVIOUS_BYTES_INITIAL = 64;

/**
 * One row of COPY's text format (fields separated by TAB, `\N` for NULL, backslash escapes) as byte offsets into
 * the chunk that holds it: strings are made only of the fields read, each a fresh string (a slice of a large
 * decoded chunk would keep the whole chunk alive for as long as the item lives), and a field equal to the same
 * column's previous value (accounts, currencies, dates) is the previous string again.
 *
 * `set` reads the row's bytes once, noting per field where it ends and whether it holds a backslash or a byte of
 * a multi-byte character, so a plain field (nearly all of them) is one latin1 copy and is never searched again.
 */
export class CopyRow {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly flags: Uint8Array;
  /** Per column, the bytes of the value `repeated` last decoded (a buffer reused across rows) and their length. */
  private readonly previousBytes: (Buffer | undefined)[];
  private readonly previousLength: Int32Array;
  private readonly previousText: (string | undefined)[];

  constructor(readonly columns: number) {
    if (!Number.isInteger(columns) || columns < 1) throw new Error(`a COPY row has at least one column, not ${columns}`);
    this.starts = new Int32Array(columns);
    this.ends = new Int32Array(columns);
    this.flags = new Uint8Array(columns);
    this.previousBytes = new Array<Buffer | undefined>(columns).fill(undefined);
    this.previousLength = new Int32Array(columns);
    this.previousText = new Array<string | undefined>(columns).fill(undefined);
  }

  /** Points at the row in buffer[start, end) (without its LF); throws unless it has exactly `columns` fields. */
  set(buffer: Buffer, start: number, end: number): void {
    this.buffer = buffer;
    const starts = this.starts;
    const ends = this.ends;
    const flags = this.flags;
    const last = this.columns - 1;
    let field = 0;
    let fieldFlags = 0;
    starts[0] = start;
    for (let index = start; index < end; index += 1) {
      const byte = buffer[index]!;
      if (byte === TAB) {
        if (field === last) throw new Error(`COPY row has more than ${this.columns} fields`);
        ends[field] = index;
        flags[field] = fieldFlags;
        field += 1;
        starts[field] = index + 1;
        fieldFlags = 0;
      } else if (byte === BACKSLASH) fieldFlags |= FIELD_ESCAPED;
      else if (byte >= ASCII_END) fieldFlags |= FIELD_NON_ASCII;
    }
    if (field !== last) throw new Error(`COPY row has ${field + 1} fields, expected ${this.columns}`);
    ends[last] = end;
    flags[last] = fieldFlags;
  }

  isNull(field: number): boolean {
    const start = this.starts[field]!;
    return this.ends[field]! - start === 2 && this.buffer[start] === BACKSLASH && this.buffer[start + 1] === LETTER_N;
  }

  text(field: number): string | undefined {
    const start = this.starts[field]!;
    const end = this.ends[field]!;
    const flags = this.flags[field]!;
    // latin1 of ASCII bytes is the text itself, copied into a new one-byte string: the cheapest decode there is.
    if (flags === 0) return this.buffer.toString('latin1', start, end);
    if (this.isNull(field)) return undefined;
    const text = this.buffer.toString(flags & FIELD_NON_ASCII ? 'utf8' : 'latin1', start, end);
    return flags & FIELD_ESCAPED ? unescapeCopy(text) : text;
  }

  /** `text`, reusing the string of this column's previous row when the bytes are the same. */
  repeated(field: number): string | undefined {
    const buffer = this.buffer;
    const start = this.starts[field]!;
    const length = this.ends[field]! - start;
    const previousText = this.previousText[field];
    let previous = this.previousBytes[field];
    // A NULL's bytes (`\N`) never equal a stored value's: a text `\N` is sent as `\\N`.
    if (previousText !== undefined && this.previousLength[field] === length) {
      let index = 0;
      while (index < length && previous![index] === buffer[start + index]) index += 1;
      if (index === length) return previousText;
    }
    const text = this.text(field);
    if (text === undefined) return undefined;
    if (previous === undefined || previous.length < length) {
      previous = Buffer.allocUnsafe(Math.max(length, PREVIOUS_BYTES_INITIAL, (previous?.length ?? 0) * 2));
      this.previousBytes[field] = previous;
    }
    // A loop, not Buffer#copy: these values are a few dozen bytes, shorter than a native call's own cost.
    for (let index = 0; index < length; index += 1) previous[index] = buffer[start + index]!;
    this.previousLength[field] = length;
    this.previousText[field] = text;
    return text;
  }

  bigint(field: number): bigint {
    const start = this.starts[field]!;
    const end = this.ends[field]!;
    const value = this.smallInteger(start, end);
    return value === undefined ? BigInt(this.buffer.toString('latin1', start, end)) : BigInt(value);
  }

  int(field: number): number {
    const start = this.starts[field]!;
    const end = this.ends[field]!;
    return this.smallInteger(start, end) ?? Number(this.buffer.toString('latin1', start, end));
  }

  /** A boolean column: `t` or `f`. */
  isTrue(field: number): boolean {
    return this.buffer[this.starts[field]!] === LETTER_T;
  }

  /**
   * The field as a number when it is an optional minus and 1..15 digits (exact in a double); anything else
   * (longer, empty, a plus sign, NULL) undefined, for BigInt or Number to read from its text as before.
   */
  private smallInteger(start: number, end: number): number | undefined {
    const buffer = this.buffer;
    const negative = buffer[start] === MINUS && start < end;
    const first = negative ? start + 1 : start;
    if (first === end || end - first > NUMBER_DIGITS_EXACT_MAX) return undefined;
    let value = 0;
    for (let index = first; index < end; index += 1) {
      const digit = buffer[index]! - DIGIT_0;
      if (digit < 0 || digit > 9) return undefined;
      value = value * 10 + digit;
    }
    return negative ? -value : value;
  }
}

/**
 * Reads a COPY ... TO STDOUT stream (text format) row by row; `row` is handed the same CopyRow, pointed at each row.
 * Rows are read in place in the chunk that holds them; only a row split across chunks is copied, into a buffer of
 * its own.
 */
export async function readCopy(stream: Readable, columns: number, row: (fields: CopyRow) => void): Promise<void> {
  const fields = new CopyRow(columns);
  // The start of a row whose LF has not arrived yet: the tail of one chunk, then any chunks without an LF.
  let pending: Buffer[] = [];
  for await (const received of stream) {
    const chunk = received as Buffer;
    let start = 0;
    if (pending.length > 0) {
      const end = chunk.indexOf(LF);
      if (end === -1) {
        pending.push(chunk);
        continue;
      }
      pending.push(chunk.subarray(0, end));
      const joined = Buffer.concat(pending);
      pending = [];
      fields.set(joined, 0, joined.length);
      row(fields);
      start = end + 1;
    }
    for (;;) {
      const end = chunk.indexOf(LF, start);
      if (end === -1) break;
      fields.set(chunk, start, end);
      row(fields);
      start = end + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length > 0) throw new Error('COPY output ended inside a row');
}

/**
 * The values of a one-column COPY ... TO STDOUT as an IdSet, kept as the bytes that came (no string per value). A
 * value with something COPY escapes in it (backslash, TAB, LF, CR: rare in ids) takes the rows through text and
 * unescaping instead. A NULL is refused: an id column has none.
 */
export async function readCopyIdSet(stream: Readable): Promise<IdSet> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  if (bytes.indexOf(BACKSLASH) === -1) return IdSet.ofLines(bytes);
  const lines = bytes.toString('utf8').split('\n');
  if (lines.pop() !== '') throw new Error('COPY output ended inside a row');
  if (lines.includes('\\N')) throw new Error('COPY output of an id column holds a NULL');
  return IdSet.of(lines.map(unescapeCopy));
}

const COPY_UNESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

function unescapeCopy(raw: string): string {
  return raw.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_match, code: string) => {
    if (code.length > 1 && code[0] === 'x') return String.fromCharCode(parseInt(code.slice(1), 16));
    if (/^[0-7]+$/.test(code)) return String.fromCharCode(parseInt(code, 8));
    return COPY_UNESCAPES[code] ?? code;
  });
}
