import * as iconv from 'iconv-lite';
import { UnreadableStatementError } from './canonical';
import { camtDocument, standardRecord } from '../test-fixtures/camt-builder';
import { detectFormat, isFormatOption } from './detect';

const MT940 =
  ':20:STARTUMS\r\n:25:DE89370400440532013000\r\n:28C:1/1\r\n:60F:C250101EUR1000,00\r\n:61:2501020102D22,30NTRFNONREF\r\n:62F:C250102EUR977,70\r\n-\r\n';

describe(detectFormat.name, () => {
  it.each([
    ['052', 'camt.052'],
    ['053', 'camt.053'],
    ['054', 'camt.054'],
  ] as const)('recognises camt.%s by its namespace', (kind, format) => {
    expect(detectFormat(Buffer.from(camtDocument({ kind, version: 8, records: [standardRecord()] })))).toBe(format);
  });

  it('recognises camt by the namespace, not by schemaLocation', () => {
    const xml =
      '<?xml version="1.0"?><Document xsi:schemaLocation="urn:iso:std:iso:20022:tech:xsd:camt.052.001.01 x.xsd" xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">';

    expect(detectFormat(Buffer.from(xml))).toBe('camt.053');
  });

  it('recognises camt behind a UTF-8 BOM and leading blank lines', () => {
    expect(detectFormat(Buffer.from(`\ufeff\n\n${camtDocument({ kind: '054', version: 4, records: [] })}`))).toBe('camt.054');
  });

  it('recognises plain MT940', () => {
    expect(detectFormat(Buffer.from(MT940))).toBe('mt940');
  });

  it('recognises MT940 inside a SWIFT FIN envelope', () => {
    expect(detectFormat(Buffer.from(`{1:F01BANKDEFFAXXX0000000000}{2:O9401200250102BANKDEFFAXXX00000000002501021200N}{4:\r\n${MT940}-}`))).toBe('mt940');
  });

  it('recognises MT942 by :13D: / :34F: or by 942 in block 2', () => {
    expect(detectFormat(Buffer.from(':20:INTRADAY\n:25:DE89370400440532013000\n:28C:1\n:34F:EURD0,\n:13D:2501021200+0100\n'))).toBe('mt942');
    expect(detectFormat(Buffer.from('{1:F01BANKDEFFAXXX0000000000}{2:I942BANKDEFFXXXXN}{4:\n:20:X\n:25:Y\n-}'))).toBe('mt942');
  });

  it('recognises BAI2 by its 01 file header', () => {
    expect(detectFormat(Buffer.from('01,BANKID,CUSTID,250102,0800,1,,,2/\n02,CUSTID,BANKID,1,250101,,USD,2/\n'))).toBe('bai2');
  });

  it('recognises a CSV profile by its header row', () => {
    expect(detectFormat(Buffer.from('date,amount,currency,reference\n2025-01-02,-22.30,EUR,PLAT-1\n'))).toBe('csv:generic');
  });

  it('recognises a GB18030 Chinese bank export after its preamble', () => {
    const text = '明细查询文件下载\n卡号: 6222 0000 1234 5678\n交易日期,收入金额,支出金额,对方户名,摘要\n2025-01-02,100.00,-,张三,工资\n';

    expect(detectFormat(iconv.encode(text, 'gb18030'))).toBe('csv:cn-gbk-bank');
  });

  it.each([
    ['JSON', '{"statement": true}', 'not a recognised bank statement'],
    ['XML of another kind', '<?xml version="1.0"?><html></html>', 'XML without a camt.052/053/054 namespace'],
    ['an empty file', '', 'the file is empty'],
    ['binary noise', '\u0000\u0001\u0002\u0003', 'not a recognised bank statement'],
  ])('refuses %s with a clear message', (_label, text, message) => {
    expect(() => detectFormat(Buffer.from(text))).toThrow(UnreadableStatementError);
    expect(() => detectFormat(Buffer.from(text))).toThrow(message);
  });
});

describe(isFormatOption.name, () => {
  it.each(['auto', 'mt940', 'mt942', 'camt.052', 'camt.053', 'camt.054', 'bai2', 'csv:generic'])('accepts %s', (value) => {
    expect(isFormatOption(value)).toBe(true);
  });

  it.each(['camt', 'csv:', 'MT940', 'camt.055'])('refuses %s', (value) => {
    expect(isFormatOption(value)).toBe(false);
  });
});
