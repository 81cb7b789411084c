import type { SourceLine } from '../parser.port';

/** Default longest line kept whole. Longer lines are cut to LINE_LENGTH_MAX + 1 characters (see readLines). */
export const LINE_LENGTH_MAX = 64 * 1024;

export interface LineReaderOptions {
  readonly lineLengthMax?: number;
}

/**
 * Splits decoded text chunks into 1-based SourceLines at CRLF, CR or LF (a CRLF split across two chunks is one
 * terminator), synchronously: `push` returns the lines a chunk completes, `finish` the final line without
 * terminator, if any. A line longer than `lineLengthMax` is cut to `lineLengthMax + 1` characters and the rest up
 * to its terminator is skipped, so a file without line breaks cannot exhaust memory; the parser sees a line
 * longer than its limit and rejects it with its line number.
 */
export class LineSplitter {
  private readonly keptLengthMax: number;
  private pending = '';
  private pendingOverflowed = false;
  private lastChunkEndedWithCr = false;
  private lineNo = 0;

  constructor(options: LineReaderOptions = {}) {
    this.keptLengthMax = (options.lineLengthMax ?? LINE_LENGTH_MAX) + 1;
  }

  push(chunk: string): SourceLine[] {
    const lines: SourceLine[] = [];
    if (chunk.length === 0) return lines;
    const keptLengthMax = this.keptLengthMax;
    let start = 0;
    if (this.lastChunkEndedWithCr && chunk.charCodeAt(0) === 0x0a) start = 1;
    this.lastChunkEndedWithCr = false;
    let index = start;
    const length = chunk.length;
    while (index < length) {
      const code = chunk.charCodeAt(index);
      if (code !== 0x0a && code !== 0x0d) {
        index += 1;
        continue;
      }
      let text = this.pending.length === 0 ? chunk.slice(start, index) : this.pending + chunk.slice(start, index);
      if (this.pendingOverflowed || text.length > keptLengthMax) text = text.slice(0, keptLengthMax);
      this.pending = '';
      this.pendingOverflowed = false;
      this.lineNo += 1;
      lines.push({ lineNo: this.lineNo, text });
      if (code === 0x0d) {
        if (index + 1 < length) {
          if (chunk.charCodeAt(index + 1) === 0x0a) index += 1;
        } else {
          this.lastChunkEndedWithCr = true;
        }
      }
      index += 1;
      start = index;
    }
    if (start < length && !this.pendingOverflowed) {
      this.pending += chunk.slice(start);
      if (this.pending.length > keptLengthMax) {
        this.pending = this.pending.slice(0, keptLengthMax);
        this.pendingOverflowed = true;
      }
    }
    return lines;
  }

  /** The last line when the text does not end with a line terminator. */
  finish(): SourceLine | undefined {
    if (this.pending.length === 0 && !this.pendingOverflowed) return undefined;
    this.lineNo += 1;
    const line = { lineNo: this.lineNo, text: this.pending };
    this.pending = '';
    this.pendingOverflowed = false;
    return line;
  }
}

/** Async form of LineSplitter over decoded text chunks. A final line without terminator counts. */
export async function* readLines(chunks: AsyncIterable<string>, options: LineReaderOptions = {}): AsyncGenerator<SourceLine> {
  const splitter = new LineSplitter(options);
  for await (const chunk of chunks) {
    // Yielding line by line from one array per chunk keeps the generator overhead per chunk, not per byte.
    for (const line of splitter.push(chunk)) yield line;
  }
  const last = splitter.finish();
  if (last !== undefined) yield last;
}
