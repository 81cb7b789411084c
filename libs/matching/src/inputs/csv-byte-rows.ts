import { isUtf8 } from 'node:buffer';
import { InputFileError } from './input-error';

/**
 * The RFC 4180 reader of `csv-rows.ts` at the byte level: the same rows, line numbers and errors (in the same
 * order: UTF-8 of a chunk, then the structure of its complete rows, then the length of the unfinished row, then
 * whatever the caller checks in those rows), but a row is a set of byte offsets into the chunk rather than an
 * array of strings. Delimiters are ASCII, and UTF-8 never uses ASCII bytes inside a multi-byte character, so
 * scanning bytes finds the same rows as scanning the decoded text; the caller makes strings only of the fields
 * it keeps (and compares bytes for repeated values).
 *
 * Chunks are handled exactly as `csvRows` with a fatal streaming TextDecoder handles them: an incomplete UTF-8
 * sequence at a chunk's end is held for the next chunk (and dropped at the end of the stream, as the decoder is
 * never flushed there), the first decoded character is dropped when it is a BOM, and one more BOM is dropped
 * when the first chunk's text starts with one.
 */
export class CsvByteRows {
  /** The bytes the current rows point into. */
  bytes: Buffer = EMPTY;
  rowCount = 0;
  rowLineNo: Int32Array = new Int32Array(1024);
  /** Index of the row's first field in the field arrays. */
  rowField: Int32Array = new Int32Array(1024);
  rowFieldCount: Int32Array = new Int32Array(1024);
  fieldStart: Int32Array = new Int32Array(16_384);
  fieldEnd: Int32Array = new Int32Array(16_384);
  /** 1 when quoted: start and end then delimit the text between the quotes, `""` not yet undone. */
  fieldQuoted: Uint8Array = new Uint8Array(16_384);
  private fieldCount = 0;

  private carry: Buffer = EMPTY;
  private held: Buffer = EMPTY;
  private lineNo = 1;
  private firstChunk = true;
  private bomChecked = false;

  constructor(
    private readonly rowLengthMax: number,
    private readonly source: string,
  ) {}

  /** One chunk: afterwards `rowCount` complete rows are available (until the next call). */
  push(chunk: Buffer): void {
    const region = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    const tail = heldTailLength(region);
    let text = tail === 0 ? region : region.subarray(0, region.length - tail);
    if (!isUtf8(text)) throw new InputFileError(`${this.source}: line ${this.lineNo} is not valid UTF-8`);
    this.held = tail === 0 ? EMPTY : Buffer.from(region.subarray(region.length - tail));
    if (!this.bomChecked && text.length > 0) {
      this.bomChecked = true;
      if (startsWithBom(text)) text = text.subarray(3);
    }
    if (this.firstChunk) {
      this.firstChunk = false;
      if (startsWithBom(text)) text = text.subarray(3);
    }
    const pending = this.carry.length > 0 ? Buffer.concat([this.carry, text]) : text;
    const consumed = this.scan(pending, false);
    this.carry = consumed === pending.length ? EMPTY : Buffer.from(pending.subarray(consumed));
    if (this.carry.length > this.rowLengthMax && utf16Length(this.carry) > this.rowLengthMax) {
      throw new InputFileError(`${this.source}: the row starting on line ${this.lineNo} is longer than ${this.rowLengthMax} characters`);
    }
  }

  /** The end of the stream: the rows of the unfinished tail, if any. */
  finish(): void {
    const pending = this.carry;
    this.carry = EMPTY;
    this.rowCount = 0;
    if (pending.length > 0) this.scan(pending, true);
  }

  /** A field's value as `csvRows` gives it. */
  fieldText(field: number): string {
    const text = this.bytes.toString('utf8', this.fieldStart[field], this.fieldEnd[field]);
    return this.fieldQuoted[field] === 1 ? text.replace(/""/g, '"') : text;
  }

  /** `splitRows` on bytes: records the complete rows, returns how many bytes they take. */
  private scan(bytes: Buffer, final: boolean): number {
    this.bytes = bytes;
    this.rowCount = 0;
    this.fieldCount = 0;
    const length = bytes.length;
    const source = this.source;
    let position = 0;
    let lineNo = this.lineNo;
    while (position < length) {
      const rowStart = position;
      const rowLineNo = lineNo;
      const firstField = this.fieldCount;
      for (;;) {
        if (position < length && bytes[position] === 34) {
          let cursor = position + 1;
          const start = cursor;
          let end = -1;
          while (cursor < length) {
            const quote = bytes.indexOf(34, cursor);
            if (quote === -1) break;
            if (bytes[quote + 1] === 34) {
              cursor = quote + 2;
              continue;
            }
            if (quote + 1 >= length && !final) break;
            end = quote;
            position = quote + 1;
            break;
          }
          if (end === -1) {
            if (final) throw new InputFileError(`${source} line ${rowLineNo}: a quoted field is never closed`);
            return this.incomplete(rowStart, rowLineNo, firstField);
          }
          for (let index = bytes.indexOf(10, start); index !== -1 && index < end; index = bytes.indexOf(10, index + 1)) lineNo += 1;
          this.addField(start, end, 1);
          const next = bytes[position];
          if (position < length && next !== 44 && next !== 10 && next !== 13) {
            throw new InputFileError(`${source} line ${lineNo}: unexpected character after a closing quote in field ${this.fieldCount - firstField}`);
          }
        } else {
          let cursor = position;
          while (cursor < length) {
            const code = bytes[cursor]!;
            if (code === 44 || code === 10 || code === 13) break;
            if (code === 34) throw new InputFileError(`${source} line ${lineNo}: a quote inside an unquoted field ${this.fieldCount - firstField + 1}`);
            cursor += 1;
          }
          this.addField(position, cursor, 0);
          position = cursor;
        }
        if (position >= length) {
          if (!final) return this.incomplete(rowStart, rowLineNo, firstField);
          break;
        }
        const code = bytes[position];
        if (code === 44) {
          position += 1;
          continue;
        }
        if (code === 13) {
          if (position + 1 >= length && !final) return this.incomplete(rowStart, rowLineNo, firstField);
          position += bytes[position + 1] === 10 ? 2 : 1;
        } else position += 1;
        lineNo += 1;
        break;
      }
      const fields = this.fieldCount - firstField;
      // An empty line (one empty field, quoted or not) is no row.
      if (fields === 1 && this.fieldEnd[firstField] === this.fieldStart[firstField]) this.fieldCount = firstField;
      else this.addRow(rowLineNo, firstField, fields);
    }
    this.lineNo = lineNo;
    return position;
  }

  private incomplete(rowStart: number, rowLineNo: number, firstField: number): number {
    this.fieldCount = firstField;
    this.lineNo = rowLineNo;
    return rowStart;
  }

  private addField(start: number, end: number, quoted: number): void {
    if (this.fieldCount === this.fieldStart.length) {
      this.fieldStart = grownInt32(this.fieldStart);
      this.fieldEnd = grownInt32(this.fieldEnd);
      const quotedGrown = new Uint8Array(this.fieldQuoted.length * 2);
      quotedGrown.set(this.fieldQuoted);
      this.fieldQuoted = quotedGrown;
    }
    this.fieldStart[this.fieldCount] = start;
    this.fieldEnd[this.fieldCount] = end;
    this.fieldQuoted[this.fieldCount] = quoted;
    this.fieldCount += 1;
  }

  private addRow(lineNo: number, firstField: number, fields: number): void {
    if (this.rowCount === this.rowLineNo.length) {
      this.rowLineNo = grownInt32(this.rowLineNo);
      this.rowField = grownInt32(this.rowField);
      this.rowFieldCount = grownInt32(this.rowFieldCount);
    }
    this.rowLineNo[this.rowCount] = lineNo;
    this.rowField[this.rowCount] = firstField;
    this.rowFieldCount[this.rowCount] = fields;
    this.rowCount += 1;
  }
}

const EMPTY = Buffer.alloc(0);

function grownInt32(array: Int32Array): Int32Array {
  const grown = new Int32Array(array.length * 2);
  grown.set(array);
  return grown;
}

function startsWithBom(bytes: Buffer): boolean {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

/** Characters (UTF-16 code units) of valid UTF-8: one per sequence, two for a four-byte one. */
function utf16Length(bytes: Buffer): number {
  let units = 0;
  for (let index = 0; index < bytes.length; index += 1) {
    const byte = bytes[index]!;
    if ((byte & 0xc0) !== 0x80) units += byte >= 0xf0 ? 2 : 1;
  }
  return units;
}

/**
 * Bytes at the end that a streaming decoder holds back: the start of a multi-byte sequence that may still be
 * completed by the next chunk. 0 when the end is complete, or when it cannot become valid (the check of the
 * rest then fails, as the decoder does at once).
 */
export function heldTailLength(bytes: Uint8Array): number {
  const length = bytes.length;
  for (let index = length - 1; index >= 0 && index >= length - 3; index -= 1) {
    const byte = bytes[index]!;
    if (byte < 0x80) return 0;
    if (byte < 0xc0) continue;
    const needed = byte >= 0xc2 && byte <= 0xdf ? 2 : byte >= 0xe0 && byte <= 0xef ? 3 : byte >= 0xf0 && byte <= 0xf4 ? 4 : 0;
    const have = length - index;
    if (needed === 0 || have >= needed) return 0;
    if (have >= 2) {
      const second = bytes[index + 1]!;
      const [low, high] =
        byte === 0xe0 ? [0xa0, 0xbf] : byte === 0xed ? [0x80, 0x9f] : byte === 0xf0 ? [0x90, 0xbf] : byte === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
      if (second < low || second > high) return 0;
    }
    return have;
  }
  return 0;
}
