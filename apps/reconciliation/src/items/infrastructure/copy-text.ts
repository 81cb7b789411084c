import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';

/**
 * PostgreSQL's COPY text format, both ways, for the nightly run's bulk reads and writes: rows read straight out of
 * the received chunks by byte offset, rows written as strings in chunks with back-pressure.
 */

/** Rows are written to a COPY stream in chunks of about this many characters. */
const COPY_CHUNK_CHARACTERS = 1 << 20;

/**
 * One row of COPY's text format (fields separated by TAB, `\N` for NULL, backslash escapes) as byte offsets into
 * the chunk that holds it: strings are made only of the fields read, each a fresh string (a slice of a large
 * decoded chunk would keep the whole chunk alive for as long as the item lives), and a field equal to the same
 * column's previous value (accounts, currencies, dates) is the previous string again.
 */
export class CopyRow {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly previousBytes: (Buffer | undefined)[] = [];
  private readonly previousText: string[] = [];

  constructor(readonly columns: number) {
    this.starts.length = columns;
    this.ends.length = columns;
  }

  /** Points at the row in buffer[start, end) (without its LF); throws unless it has exactly `columns` fields. */
  set(buffer: Buffer, start: number, end: number): void {
    this.buffer = buffer;
    const last = this.columns - 1;
    let from = start;
    for (let field = 0; field < last; field += 1) {
      const to = buffer.indexOf(9, from);
      if (to === -1 || to >= end) throw new Error(`COPY row has ${field + 1} fields, expected ${this.columns}`);
      this.starts[field] = from;
      this.ends[field] = to;
      from = to + 1;
    }
    const extra = buffer.indexOf(9, from);
    if (extra !== -1 && extra < end) throw new Error(`COPY row has more than ${this.columns} fields`);
    this.starts[last] = from;
    this.ends[last] = end;
  }

  isNull(field: number): boolean {
    const start = this.starts[field]!;
    return this.ends[field]! - start === 2 && this.buffer[start] === 92 && this.buffer[start + 1] === 78;
  }

  text(field: number): string | undefined {
    if (this.isNull(field)) return undefined;
    const start = this.starts[field]!;
    const end = this.ends[field]!;
    const index = this.buffer.indexOf(92, start);
    const text = this.buffer.toString('utf8', start, end);
    return index !== -1 && index < end ? unescapeCopy(text) : text;
  }

  /** `text`, reusing the string of this column's previous row when the bytes are the same. */
  repeated(field: number): string | undefined {
    if (this.isNull(field)) return undefined;
    const start = this.starts[field]!;
    const end = this.ends[field]!;
    const previous = this.previousBytes[field];
    if (previous !== undefined && previous.length === end - start && this.buffer.compare(previous, 0, previous.length, start, end) === 0)
      return this.previousText[field];
    const text = this.text(field)!;
    this.previousBytes[field] = Buffer.from(this.buffer.subarray(start, end));
    this.previousText[field] = text;
    return text;
  }

  bigint(field: number): bigint {
    return BigInt(this.buffer.toString('latin1', this.starts[field]!, this.ends[field]!));
  }

  int(field: number): number {
    return Number(this.buffer.toString('latin1', this.starts[field]!, this.ends[field]!));
  }

  /** A boolean column: `t` or `f`. */
  isTrue(field: number): boolean {
    return this.buffer[this.starts[field]!] === 116;
  }
}

/** Reads a COPY ... TO STDOUT stream (text format) row by row; `row` is handed the same CopyRow, pointed at each row. */
export async function readCopy(stream: Readable, columns: number, row: (fields: CopyRow) => void): Promise<void> {
  const fields = new CopyRow(columns);
  let rest: Buffer | undefined;
  for await (const received of stream) {
    const chunk = rest === undefined ? (received as Buffer) : Buffer.concat([rest, received as Buffer]);
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(10, start);
      if (end === -1) break;
      fields.set(chunk, start, end);
      row(fields);
      start = end + 1;
    }
    rest = start < chunk.length ? chunk.subarray(start) : undefined;
  }
  if (rest !== undefined) throw new Error('COPY output ended inside a row');
}

const COPY_UNESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

function unescapeCopy(raw: string): string {
  return raw.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_match, code: string) => {
    if (code.length > 1 && code[0] === 'x') return String.fromCharCode(parseInt(code.slice(1), 16));
    if (/^[0-7]+$/.test(code)) return String.fromCharCode(parseInt(code, 8));
    return COPY_UNESCAPES[code] ?? code;
  });
}

/** COPY text format of one field. */
export function copyField(value: string | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  return COPY_SPECIAL.test(value) ? value.replace(COPY_SPECIALS, (character) => COPY_ESCAPES[character]!) : value;
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIALS = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const ARRAY_ELEMENT_SPECIAL = /[\\"\t\n\r]/;

/** A text[] literal (each element quoted), as one COPY field. */
export function textArrayField(values: readonly string[]): string {
  let literal = '{';
  let plain = true;
  for (let index = 0; index < values.length; index += 1) {
    const value = values[index]!;
    if (ARRAY_ELEMENT_SPECIAL.test(value)) plain = false;
    literal += `${index === 0 ? '' : ','}"${value}"`;
  }
  literal += '}';
  if (plain) return literal;
  return copyField(`{${values.map((value) => `"${value.replace(/[\\"]/g, (character) => `\\${character}`)}"`).join(',')}}`);
}

/** Writes rows (each in COPY text format, with its LF) to a COPY ... FROM STDIN in chunks, respecting back-pressure. */
export async function writeCopy(stream: Writable, rows: Iterable<string>): Promise<void> {
  let block = '';
  try {
    for (const row of rows) {
      block += row;
      if (block.length < COPY_CHUNK_CHARACTERS) continue;
      const chunk = block;
      block = '';
      if (!stream.write(chunk)) await once(stream, 'drain');
    }
  } catch (error) {
    stream.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  stream.end(block);
  await finished(stream);
}
