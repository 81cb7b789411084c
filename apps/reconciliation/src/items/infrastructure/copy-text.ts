import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import { IdSet } from '../domain/id-set';

/**
 * PostgreSQL's COPY text format, both ways, for the nightly run's bulk reads and writes: rows read straight out of
 * the received chunks by byte offset, rows written straight into byte blocks with back-pressure.
 */

const TAB = 9;
const LF = 10;
const CR = 13;
const QUOTE = 34;
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

/** Whether the string has a character COPY's text format escapes (backslash, TAB, LF, CR). */
function hasCopySpecial(value: string): boolean {
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (code === BACKSLASH || code === TAB || code === LF || code === CR) return true;
  }
  return false;
}

/** COPY text format of one field. */
export function copyField(value: string | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  return hasCopySpecial(value) ? value.replace(COPY_SPECIALS, (character) => COPY_ESCAPES[character]!) : value;
}

const COPY_SPECIALS = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Bytes of a CopyWriter block: rows are sent in pieces of about this size. */
const COPY_BLOCK_BYTES = 1 << 20;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit; a COPY escape of an ASCII character takes 2. */
const UTF8_BYTES_PER_CODE_UNIT_MAX = 3;

/**
 * Writes COPY text rows straight into byte blocks sent to a COPY ... FROM STDIN, with back-pressure: no string is
 * built per row or field (a million template rows and their flattening were most of the cost of writing a run's
 * matches). Fields are written as `copyField` writes them (text[] elements each quoted, quotes and backslashes escaped); ASCII without specials, nearly all
 * of them, is copied code unit by code unit, anything else is escaped and encoded as before.
 *
 *     const writer = new CopyWriter(stream);
 *     for (const match of matches) {
 *       writer.field(match.id).arrayField(match.ledger).endRow();
 *       if (writer.full) await writer.flush();
 *     }
 *     await writer.end();
 */
export class CopyWriter {
  private block: Buffer = Buffer.allocUnsafe(COPY_BLOCK_BYTES);
  private position = 0;
  private rowStarted = false;
  /** Blocks filled while a row was written, sent at the next flush. */
  private filled: Buffer[] = [];
  rowCount = 0;

  constructor(private readonly stream: Writable) {}

  /** Whether enough is written for a flush to be worth a socket write. */
  get full(): boolean {
    return this.filled.length > 0 || this.position >= COPY_BLOCK_BYTES >> 1;
  }

  /** One text field (NULL when null or undefined), after a TAB unless it is the row's first. */
  field(value: string | null | undefined): this {
    this.separate();
    if (value === null || value === undefined) {
      this.reserve(2);
      this.block[this.position++] = BACKSLASH;
      this.block[this.position++] = LETTER_N;
      return this;
    }
    this.reserve(value.length * UTF8_BYTES_PER_CODE_UNIT_MAX);
    if (!this.plain(value, false)) this.position += this.block.write(copyField(value), this.position, 'utf8');
    return this;
  }

  /** A text[] field, each element quoted, as `textArrayField` writes it. */
  arrayField(values: readonly string[]): this {
    this.separate();
    this.reserve(2);
    this.block[this.position++] = 123; // {
    for (let index = 0; index < values.length; index += 1) {
      const value = values[index]!;
      // Quotes and a comma around it, and its backslashes and quotes escaped twice (array literal, then COPY).
      this.reserve(value.length * UTF8_BYTES_PER_CODE_UNIT_MAX + 4);
      if (index > 0) this.block[this.position++] = 44; // ,
      const start = this.position;
      this.block[this.position++] = QUOTE;
      if (this.plain(value, true)) this.block[this.position++] = QUOTE;
      else {
        this.position = start;
        const element = `"${value.replace(/[\\"]/g, (character) => `\\${character}`)}"`;
        this.reserve(element.length * 2 * UTF8_BYTES_PER_CODE_UNIT_MAX);
        this.position += this.block.write(copyField(element), this.position, 'utf8');
      }
    }
    this.reserve(1);
    this.block[this.position++] = 125; // }
    return this;
  }

  endRow(): void {
    this.reserve(1);
    this.block[this.position++] = LF;
    this.rowStarted = false;
    this.rowCount += 1;
  }

  /** Sends what is written so far, waiting while the stream is over its high-water mark. */
  async flush(): Promise<void> {
    const chunks = this.takeWritten();
    for (const chunk of chunks) if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async end(): Promise<void> {
    if (this.rowStarted) throw new Error('CopyWriter: end() inside a row');
    await this.flush();
    this.stream.end();
    await finished(this.stream);
  }

  /**
   * Abandons the COPY (the server rolls it back); the caller's transaction is rolled back after. The server answers
   * the abandoned COPY with an error naming `error`, which the stream then emits: the caller already has it.
   */
  abort(error: unknown): void {
    this.filled = [];
    this.position = 0;
    this.stream.on('error', () => undefined);
    this.stream.destroy(error instanceof Error ? error : new Error(String(error)));
  }

  private separate(): void {
    if (this.rowStarted) {
      this.reserve(1);
      this.block[this.position++] = TAB;
    }
    this.rowStarted = true;
  }

  /**
   * Copies the value when every code unit is ASCII and needs no escape (in an array element, no quote either);
   * otherwise writes nothing and returns false.
   */
  private plain(value: string, arrayElement: boolean): boolean {
    const block = this.block;
    let position = this.position;
    for (let index = 0; index < value.length; index += 1) {
      const code = value.charCodeAt(index);
      if (code >= ASCII_END || code === BACKSLASH || code === TAB || code === LF || code === CR || (arrayElement && code === QUOTE)) return false;
      block[position++] = code;
    }
    this.position = position;
    return true;
  }

  /** Room for `bytes` more in the current block: a full block is kept for the next flush and a new one begun. */
  private reserve(bytes: number): void {
    if (this.position + bytes <= this.block.length) return;
    if (this.position > 0) this.filled.push(this.block.subarray(0, this.position));
    this.block = Buffer.allocUnsafe(Math.max(COPY_BLOCK_BYTES, bytes));
    this.position = 0;
  }

  private takeWritten(): Buffer[] {
    const chunks = this.filled;
    this.filled = [];
    if (this.position > 0) {
      chunks.push(this.block.subarray(0, this.position));
      // The stream keeps the bytes sent until the socket has them: the next rows go into a new block.
      this.block = Buffer.allocUnsafe(COPY_BLOCK_BYTES);
      this.position = 0;
    }
    return chunks;
  }
}
