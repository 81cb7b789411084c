import * as iconv from 'iconv-lite';
import { collect } from '../parser.port';
import { decodeChunks } from './decode-stream';
import { readLines } from './line-reader';

async function* strings(...chunks: string[]): AsyncGenerator<string> {
  for (const chunk of chunks) yield chunk;
}

async function* buffers(bytes: Buffer, chunkLength: number): AsyncGenerator<Buffer> {
  for (let index = 0; index < bytes.length; index += chunkLength) yield bytes.subarray(index, index + chunkLength);
}

describe(readLines.name, () => {
  it('splits at CRLF, CR and LF, numbering lines from 1', async () => {
    const lines = await collect(readLines(strings('a\r\nb\rc\nd')));

    expect(lines).toEqual([
      { lineNo: 1, text: 'a' },
      { lineNo: 2, text: 'b' },
      { lineNo: 3, text: 'c' },
      { lineNo: 4, text: 'd' },
    ]);
  });

  it('treats a CRLF split across two chunks as one terminator', async () => {
    const lines = await collect(readLines(strings('a\r', '\nb\r', '', '\n', 'c')));

    expect(lines.map((line) => line.text)).toEqual(['a', 'b', 'c']);
  });

  it('keeps empty lines and counts them', async () => {
    const lines = await collect(readLines(strings('a\n\n\nb\n')));

    expect(lines).toEqual([
      { lineNo: 1, text: 'a' },
      { lineNo: 2, text: '' },
      { lineNo: 3, text: '' },
      { lineNo: 4, text: 'b' },
    ]);
  });

  it('cuts a line longer than the limit to limit + 1 characters so the parser can reject it', async () => {
    const lines = await collect(readLines(strings('x'.repeat(30), 'y'.repeat(30), '\nshort\n', 'z'.repeat(100)), { lineLengthMax: 10 }));

    expect(lines).toEqual([
      { lineNo: 1, text: 'x'.repeat(11) },
      { lineNo: 2, text: 'short' },
      { lineNo: 3, text: 'z'.repeat(11) },
    ]);
  });
});

describe(decodeChunks.name, () => {
  it('decodes GB18030 characters split across chunk boundaries', async () => {
    const text = '日期,金额,对方户名\n2025-01-02,100.00,张三\n';
    const bytes = iconv.encode(text, 'gb18030');

    const decoded = (await collect(decodeChunks(buffers(bytes, 3), 'gb18030'))).join('');

    expect(decoded).toBe(text);
  });

  it('cuts a huge input chunk into bounded pieces without splitting characters', async () => {
    const text = '张'.repeat(700_000);

    const pieces = await collect(decodeChunks(buffers(Buffer.from(text, 'utf8'), 10 * 1024 * 1024), 'utf8'));

    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(text);
  });

  it('drops a UTF-8 byte-order mark', async () => {
    const decoded = (await collect(decodeChunks(buffers(Buffer.from('\ufeffabc', 'utf8'), 1), 'utf8'))).join('');

    expect(decoded).toBe('abc');
  });
});
