import { InputFileError } from './input-error';

/**
 * A streaming RFC 4180 reader: comma-separated fields, optional double quotes, `""` inside quotes,
 * quoted line breaks, LF or CRLF row ends, an optional UTF-8 BOM. It exists because csv-parse, general
 * as it is, reads about ten times slower than the ledger of a busy day needs; the spec checks it
 * against csv-parse on random input.
 */
export interface CsvRow {
  /** 1-based line on which the row starts. */
  readonly lineNo: number;
  readonly fields: string[];
}

export async function* csvRows(chunks: AsyncIterable<string | Buffer>, rowLengthMax: number, source: string): AsyncGenerator<CsvRow[]> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending = '';
  let lineNo = 1;
  let first = true;
  for await (const chunk of chunks) {
    let text: string;
    try {
      text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    } catch {
      throw new InputFileError(`${source}: line ${lineNo} is not valid UTF-8`);
    }
    if (first) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    pending += text;
    const { rows, consumed, nextLineNo } = splitRows(pending, lineNo, false, source);
    pending = pending.slice(consumed);
    lineNo = nextLineNo;
    if (pending.length > rowLengthMax) throw new InputFileError(`${source}: the row starting on line ${lineNo} is longer than ${rowLengthMax} characters`);
    if (rows.length > 0) yield rows;
  }
  if (pending.length > 0) {
    const { rows } = splitRows(pending, lineNo, true, source);
    if (rows.length > 0) yield rows;
  }
}

/** Splits complete rows off `text`; the unfinished tail (no row end yet) stays unconsumed unless `final`. */
export function splitRows(text: string, startLineNo: number, final: boolean, source: string): { rows: CsvRow[]; consumed: number; nextLineNo: number } {
  const rows: CsvRow[] = [];
  let position = 0;
  let lineNo = startLineNo;
  const length = text.length;
  while (position < length) {
    const rowStart = position;
    const rowLineNo = lineNo;
    const fields: string[] = [];
    for (;;) {
      if (position < length && text.charCodeAt(position) === 34) {
        // Quoted field: runs to the closing quote; "" is one quote; line breaks are part of the value.
        let value = '';
        let segment = position + 1;
        let closed = false;
        let cursor = segment;
        while (cursor < length) {
          const quote = text.indexOf('"', cursor);
          if (quote === -1) break;
          if (text.charCodeAt(quote + 1) === 34) {
            value += text.slice(segment, quote + 1);
            cursor = quote + 2;
            segment = cursor;
            continue;
          }
          if (quote + 1 >= length && !final) break;
          value += text.slice(segment, quote);
          position = quote + 1;
          closed = true;
          break;
        }
        if (!closed) {
          if (final) throw new InputFileError(`${source} line ${rowLineNo}: a quoted field is never closed`);
          return { rows, consumed: rowStart, nextLineNo: rowLineNo };
        }
        for (let index = value.indexOf('\n'); index !== -1; index = value.indexOf('\n', index + 1)) lineNo += 1;
        fields.push(value);
        const next = text.charCodeAt(position);
        if (position < length && next !== 44 && next !== 10 && next !== 13) {
          throw new InputFileError(`${source} line ${lineNo}: unexpected character after a closing quote in field ${fields.length}`);
        }
      } else {
        let cursor = position;
        while (cursor < length) {
          const code = text.charCodeAt(cursor);
          if (code === 44 || code === 10 || code === 13) break;
          if (code === 34) throw new InputFileError(`${source} line ${lineNo}: a quote inside an unquoted field ${fields.length + 1}`);
          cursor += 1;
        }
        fields.push(text.slice(position, cursor));
        position = cursor;
      }
      if (position >= length) {
        if (!final) return { rows, consumed: rowStart, nextLineNo: rowLineNo };
        break;
      }
      const code = text.charCodeAt(position);
      if (code === 44) {
        position += 1;
        continue;
      }
      if (code === 13) {
        if (position + 1 >= length && !final) return { rows, consumed: rowStart, nextLineNo: rowLineNo };
        position += text.charCodeAt(position + 1) === 10 ? 2 : 1;
      } else position += 1;
      lineNo += 1;
      break;
    }
    // Every way out of the loop above has a complete row; an empty line is no row.
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ lineNo: rowLineNo, fields });
  }
  return { rows, consumed: position, nextLineNo: lineNo };
}
