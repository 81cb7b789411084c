import * as iconv from 'iconv-lite';
import { UnreadableStatementError } from './canonical';
import { camtDocument, standardRecord } from '../test-fixtures/camt-builder';
import { collect } from './parser.port';
import { parseStatementBytes, readStatementFile } from './read-statement';

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
