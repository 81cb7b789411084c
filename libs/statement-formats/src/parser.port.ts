import type { CanonicalRecord, StatementFormat, TextEncoding } from './canonical';

/** One physical line of a decoded text file, without its line terminator. `lineNo` is 1-based. */
export interface SourceLine {
  readonly lineNo: number;
  readonly text: string;
}

export interface TextParseOptions {
  /** Limits protect the parser from hostile input; a line longer than this becomes a `rejected` record. */
  readonly lineLengthMax?: number;
}

/** Parsers of line-oriented formats (MT940, MT942, BAI2, CSV) read decoded lines and yield canonical records. */
export interface TextFormatParser {
  readonly format: StatementFormat;
  parse(lines: AsyncIterable<SourceLine>, options?: TextParseOptions): AsyncGenerator<CanonicalRecord>;
}

export interface XmlParseOptions {
  readonly encoding?: TextEncoding;
}

/** Splits an in-memory text into SourceLines (CRLF, CR or LF). For tests and small inputs. */
export async function* linesOf(text: string): AsyncGenerator<SourceLine> {
  const parts = text.split(/\r\n|\r|\n/);
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  let lineNo = 0;
  for (const part of parts) {
    lineNo += 1;
    yield { lineNo, text: part };
  }
}

/** Collects an async iterable into an array. For tests. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
