/** Bad input file content: the message names the file, the row and the column. The CLI exits 2 on it. */
export class InputFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputFileError';
  }
}

/** Splits a stream of text chunks into lines (LF or CRLF), with 1-based line numbers. */
export async function* linesOfChunks(
  chunks: AsyncIterable<string | Buffer>,
  lineLengthMax: number,
  source: string,
): AsyncGenerator<{ lineNo: number; text: string }> {
  let pending = '';
  let lineNo = 0;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const chunk of chunks) {
    let text: string;
    try {
      text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    } catch {
      throw new InputFileError(`${source}: line ${lineNo + 1} is not valid UTF-8`);
    }
    pending += text;
    let start = 0;
    for (let newline = pending.indexOf('\n', start); newline !== -1; newline = pending.indexOf('\n', start)) {
      lineNo += 1;
      const end = newline > start && pending.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      yield { lineNo, text: pending.slice(start, end) };
      start = newline + 1;
    }
    pending = pending.slice(start);
    if (pending.length > lineLengthMax) throw new InputFileError(`${source}: line ${lineNo + 1} is longer than ${lineLengthMax} characters`);
  }
  if (pending.length > 0) {
    lineNo += 1;
    yield { lineNo, text: pending.endsWith('\r') ? pending.slice(0, -1) : pending };
  }
}
