import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as iconv from 'iconv-lite';
import { type CanonicalRecord, type StatementFormat, UnreadableStatementError } from './canonical';
import { camtDocument, standardRecord } from '../test-fixtures/camt-builder';
import { decodeChunks } from './decode/decode-stream';
import { DETECTION_HEAD_BYTES, detectEncoding } from './decode/encoding-detection';
import { LINE_LENGTH_MAX, readLines } from './decode/line-reader';
import { detectFormat } from './detect';
import { collect } from './parser.port';
import { READ_CHUNK_BYTES, parseStatementBytes, readStatementFile } from './read-statement';
import { csvProfileOf, textParserFor } from './text-formats';

async function* chunked(bytes: Buffer, chunkLength: number): AsyncGenerator<Buffer> {
  for (let index = 0; index < bytes.length; index += chunkLength) yield bytes.subarray(index, index + chunkLength);
}

describe(parseStatementBytes.name, () => {
  const xml = camtDocument({ kind: '053', version: 8, records: [standardRecord()] });

  it('detects and parses camt from a Buffer', async () => {
    const records = await collect(parseStatementBytes(Buffer.from(xml)));

    expect(records.map((record) => record.kind)).toEqual(['statement', 'entry', 'entry']);
  });

  it('gives the same records whatever the chunking', async () => {
    const whole = await collect(parseStatementBytes(Buffer.from(xml)));

    expect(await collect(parseStatementBytes(chunked(Buffer.from(xml), 7)))).toEqual(whole);
  });

  it('decodes an ISO-8859-1 camt document as its XML declaration says', async () => {
    const latin1 = camtDocument({ kind: '052', version: 8, encodingDeclaration: 'ISO-8859-1', records: [standardRecord()] });

    const records = await collect(parseStatementBytes(iconv.encode(latin1, 'latin1')));

    expect(records[2]).toMatchObject({ counterpartyName: 'Max Müller' });
  });

  it('reads a UTF-16LE camt document with a byte-order mark', async () => {
    const records = await collect(parseStatementBytes(iconv.encode(xml.replace('UTF-8', 'UTF-16'), 'utf16le', { addBOM: true })));

    expect(records.map((record) => record.kind)).toEqual(['statement', 'entry', 'entry']);
    expect(records[2]).toMatchObject({ counterpartyName: 'Max Müller' });
  });

  it('reads a GB18030-declared camt document with Chinese names', async () => {
    const chinese = camtDocument({ kind: '054', version: 8, encodingDeclaration: 'GB18030', records: [standardRecord()] }).replace('Max Müller', '张三');

    const records = await collect(parseStatementBytes(iconv.encode(chinese, 'gb18030'), { format: 'auto' }));

    expect(records[2]).toMatchObject({ counterpartyName: '张三' });
  });

  it('reads pretty-printed camt with comments', async () => {
    const pretty = xml.replace(/></g, '>\n    <').replace('<Ntry>', '<!-- first entry --><Ntry>');

    const records = await collect(parseStatementBytes(Buffer.from(pretty)));

    expect(records).toEqual(await collect(parseStatementBytes(Buffer.from(xml))));
  });

  it('reads a GB18030 CSV with Chinese headers', async () => {
    const csv = '交易日期,收入金额,支出金额,对方户名,摘要\n2025-01-02,100.00,-,张三,工资\n';

    const records = await collect(parseStatementBytes(iconv.encode(csv, 'gb18030'), { format: 'csv:cn-gbk-bank' }));

    expect(records.find((record) => record.kind === 'entry')).toMatchObject({ amount: '100.00', counterpartyName: '张三' });
  });

  it('refuses a file that is not the claimed format', async () => {
    await expect(collect(parseStatementBytes(Buffer.from(xml), { format: 'camt.054' }))).rejects.toThrow(UnreadableStatementError);
  });

  it('refuses an empty file', async () => {
    await expect(collect(parseStatementBytes(Buffer.alloc(0)))).rejects.toThrow('the file is empty');
  });
});

describe(readStatementFile.name, () => {
  it('names a missing file', async () => {
    await expect(collect(readStatementFile('/nonexistent/statement.xml'))).rejects.toThrow(
      new UnreadableStatementError('cannot read /nonexistent/statement.xml: no such file'),
    );
  });
});

describe('parseStatementBytes on text formats (synchronous line readers)', () => {
  const corporaDir = process.env.RECON_CORPORA_DIR ?? resolve(__dirname, '../../../../shared/corpora');

  function filesUnder(directory: string): string[] {
    if (!existsSync(directory)) return [];
    return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) return entry.name.startsWith('_') ? [] : filesUnder(path);
      return /(\.json|\.ya?ml|\.md|LICENSE.*)$/.test(entry.name) ? [] : [path];
    });
  }

  const samples = [
    ...filesUnder(join(__dirname, 'mt940', 'test-fixtures')),
    ...filesUnder(join(__dirname, 'bai2', 'test-fixtures')),
    ...filesUnder(join(corporaDir, 'mt940')),
    ...filesUnder(join(corporaDir, 'mt942')),
    ...filesUnder(join(corporaDir, 'bai2')),
  ];

  /** The path readStatementFile took before: async line reader, then the parser's async generator. */
  async function asyncPath(bytes: Buffer, options: { format?: StatementFormat; lineLengthMax?: number } = {}): Promise<CanonicalRecord[] | string> {
    try {
      const format = options.format ?? detectFormat(bytes);
      const parser = textParserFor(format);
      if (parser === undefined) return `not a text format: ${format}`;
      const encoding = detectEncoding(bytes.subarray(0, DETECTION_HEAD_BYTES), csvProfileOf(format)?.defaultEncoding).encoding;
      const lineLengthMax = options.lineLengthMax ?? LINE_LENGTH_MAX;
      return await collect(parser.parse(readLines(decodeChunks(chunked(bytes, READ_CHUNK_BYTES), encoding), { lineLengthMax }), { lineLengthMax }));
    } catch (error: unknown) {
      if (error instanceof UnreadableStatementError) return error.message;
      throw error;
    }
  }

  async function syncPath(
    source: Buffer | AsyncIterable<Buffer>,
    options: { format?: StatementFormat; lineLengthMax?: number } = {},
  ): Promise<CanonicalRecord[] | string> {
    try {
      return await collect(parseStatementBytes(source, options));
    } catch (error: unknown) {
      if (error instanceof UnreadableStatementError) return error.message;
      throw error;
    }
  }

  it('has samples', () => {
    expect(samples.length).toBeGreaterThanOrEqual(8);
  });

  it('gives every MT940, MT942 and BAI2 sample the records of the async parsers, whatever the chunking', async () => {
    for (const path of samples) {
      const bytes = readFileSync(path);
      if (bytes.length === 0) continue; // refused before any parser runs ('the file is empty', tested above)
      const expected = await asyncPath(bytes);
      expect({ path, records: await syncPath(bytes) }).toEqual({ path, records: expected });
      expect({ path, records: await syncPath(chunked(bytes, 5)) }).toEqual({ path, records: expected });
    }
  });

  it('cuts long lines and reads CSV profiles as the async parsers do', async () => {
    const mt940 = Buffer.from(`:20:A\r\n:25:ACC\r\n:60F:C250101EUR0,00\r\n:61:250101C1,00NTRFX\r\n:86:${'x'.repeat(300)}\r\n:62F:C250101EUR1,00\r\n-`);
    expect(await syncPath(mt940, { format: 'mt940', lineLengthMax: 100 })).toEqual(await asyncPath(mt940, { format: 'mt940', lineLengthMax: 100 }));

    const csv = Buffer.from('date,amount,currency,description\n2026-01-02,1.00,EUR,"two\nlines"\r\n2026-01-03,x,EUR,bad');
    expect(await syncPath(chunked(csv, 3), { format: 'csv:generic' })).toEqual(await asyncPath(csv, { format: 'csv:generic' }));
    expect(await syncPath(csv, { format: 'csv:no-such-profile' })).toEqual(await asyncPath(csv, { format: 'csv:no-such-profile' }));
  });
});
