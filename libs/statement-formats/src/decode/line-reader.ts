import type { SourceLine } from '../parser.port';

/** Default longest line kept whole. Longer lines are cut to LINE_LENGTH_MAX + 1 characters (see readLines). */
export const LINE_LENGTH_MAX = 64 * 1024;

export interface LineReaderOptions {
  readonly lineLengthMax?: number;
}

/**
 * Splits decoded text chunks into 1-based SourceLines at CRLF, CR or LF (a CRLF split across two chunks is
 * one terminator). A line longer than `lineLengthMax` is cut to `lineLengthMax + 1` characters and the rest
 * up to its terminator is skipped, so a file without line breaks cannot exhaust memory; the parser sees a
 * line longer than its limit and rejects it with its line number. A final line without terminator counts.
 */
export async function* readLines(chunks: AsyncIterable<string>, options: LineReaderOptions = {}): AsyncGenerator<SourceLine> {
  const lineLengthMax = options.lineLengthMax ?? LINE_LENGTH_MAX;
  const keptLengthMax = lineLengthMax + 1;
  let pending = '';
  let pendingOverflowed = false;
  let lastChunkEndedWithCr = false;
  let lineNo = 0;
  for await (const chunk of chunks) {
    if (chunk.length === 0) continue;
    let start = 0;
    if (lastChunkEndedWithCr && chunk.charCodeAt(0) === 0x0a) start = 1;
    lastChunkEndedWithCr = false;
    const lines: SourceLine[] = [];
    let index = start;
    const length = chunk.length;
    while (index < length) {
      const code = chunk.charCodeAt(index);
      if (code !== 0x0a && code !== 0x0d) {
        index += 1;
        continue;
      }
      let text = pending.length === 0 ? chunk.slice(start, index) : pending + chunk.slice(start, index);
      if (pendingOverflowed || text.length > keptLengthMax) text = text.slice(0, keptLengthMax);
      pending = '';
      pendingOverflowed = false;
      lineNo += 1;
      lines.push({ lineNo, text });
      if (code === 0x0d) {
        if (index + 1 < length) {
          if (chunk.charCodeAt(index + 1) === 0x0a) index += 1;
        } else {
          lastChunkEndedWithCr = true;
        }
      }
      index += 1;
      start = index;
    }
    if (start < length) {
      if (!pendingOverflowed) {
        pending += chunk.slice(start);
        if (pending.length > keptLengthMax) {
          pending = pending.slice(0, keptLengthMax);
          pendingOverflowed = true;
        }
      }
    }
    // Yielding line by line from one array per chunk keeps the generator overhead per chunk, not per byte.
    for (const line of lines) yield line;
  }
  if (pending.length > 0 || pendingOverflowed) {
    lineNo += 1;
    yield { lineNo, text: pending };
  }
}
