import * as iconv from 'iconv-lite';
import { UnreadableStatementError } from '../canonical';
import { detectEncoding, isValidUtf8, looksLikeGb18030 } from './encoding-detection';

const CHINESE_CSV = '交易日期,交易金额(收入),交易金额(支出),对方户名,摘要\n2025-01-02,100.00,,张三,工资\n';

describe(detectEncoding.name, () => {
  it('honours a UTF-8 byte-order mark', () => {
    expect(detectEncoding(Buffer.from([0xef, 0xbb, 0xbf, 0x41]))).toEqual({ encoding: 'utf8', reason: 'bom', bomBytes: 3 });
  });

  it('honours a UTF-16LE byte-order mark', () => {
    expect(detectEncoding(iconv.encode('Datum;Betrag', 'utf16le', { addBOM: true })).encoding).toBe('utf16le');
  });

  it('refuses UTF-16 big-endian with a clear message', () => {
    expect(() => detectEncoding(Buffer.from([0xfe, 0xff, 0x00, 0x41]))).toThrow(UnreadableStatementError);
  });

  it.each([
    ['ISO-8859-1', 'latin1'],
    ['iso-8859-1', 'latin1'],
    ['UTF-8', 'utf8'],
    ['windows-1252', 'cp1252'],
    ['GBK', 'gb18030'],
  ])('honours the XML declaration encoding="%s"', (declared, expected) => {
    const head = Buffer.from(`<?xml version="1.0" encoding="${declared}"?>\n<Document/>`, 'latin1');

    expect(detectEncoding(head)).toEqual({ encoding: expected, reason: 'xml-declaration', bomBytes: 0 });
  });

  it('refuses an XML declaration naming an unknown encoding', () => {
    expect(() => detectEncoding(Buffer.from('<?xml version="1.0" encoding="EBCDIC-XY"?><a/>'))).toThrow("unknown encoding 'EBCDIC-XY'");
  });

  it('takes valid UTF-8 for UTF-8', () => {
    expect(detectEncoding(Buffer.from('Grüße, 张三', 'utf8')).encoding).toBe('utf8');
  });

  it('recognises GB18030 Chinese text that is not valid UTF-8', () => {
    expect(detectEncoding(iconv.encode(CHINESE_CSV, 'gb18030'))).toMatchObject({ encoding: 'gb18030', reason: 'gb18030-heuristic' });
  });

  it('falls back to Windows-1252 for European single-byte text', () => {
    expect(detectEncoding(iconv.encode('Müller;Überweisung;Straße 12;€ 12,30\n', 'cp1252'))).toMatchObject({
      encoding: 'cp1252',
      reason: 'single-byte-fallback',
    });
  });

  it('runs the heuristics when the fallback is UTF-8 but the bytes are not', () => {
    expect(detectEncoding(iconv.encode(CHINESE_CSV, 'gb18030'), 'utf8').encoding).toBe('gb18030');
  });

  it('uses the caller fallback instead of the heuristics when given one', () => {
    expect(detectEncoding(iconv.encode(CHINESE_CSV, 'gb18030'), 'cp852')).toMatchObject({ encoding: 'cp852', reason: 'option' });
  });
});

describe(isValidUtf8.name, () => {
  it('accepts a multi-byte character cut off at the end of the head', () => {
    expect(isValidUtf8(Buffer.from('ab张', 'utf8').subarray(0, 4))).toBe(true);
  });

  it.each([
    ['a lone continuation byte', [0x41, 0x80]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a surrogate', [0xed, 0xa0, 0x80]],
    ['latin1 ü before ASCII', [0xfc, 0x6c]],
  ])('refuses %s', (_label, bytes) => {
    expect(isValidUtf8(Buffer.from(bytes))).toBe(false);
  });
});

describe(looksLikeGb18030.name, () => {
  it('does not take German Latin-1 text for Chinese', () => {
    expect(looksLikeGb18030(iconv.encode('Müller Überweisung Gebühr Straße', 'latin1'))).toBe(false);
  });

  it('takes GB18030-encoded Chinese for Chinese', () => {
    expect(looksLikeGb18030(iconv.encode('中国工商银行 对账单 余额', 'gb18030'))).toBe(true);
  });
});
