import type { TextEncoding } from '../canonical';
import { UnreadableStatementError } from '../canonical';

/** How many leading bytes of a file the detectors look at. Enough for a BOM, an XML declaration, CSV headers. */
export const DETECTION_HEAD_BYTES = 64 * 1024;

/** Minimum number of two-byte GB2312-zone pairs before a non-UTF-8 file is taken for Chinese (GB18030). */
const GB_PAIRS_MIN = 2;

export type EncodingReason = 'bom' | 'xml-declaration' | 'utf8-valid' | 'gb18030-heuristic' | 'single-byte-fallback' | 'option';

export interface DetectedEncoding {
  readonly encoding: TextEncoding;
  readonly reason: EncodingReason;
  /** Bytes of byte-order mark to skip before decoding (0 when there is none). */
  readonly bomBytes: number;
}

/** The encoding names `--encoding` and the library accept; `auto` detects. */
export const ENCODING_OPTIONS = ['auto', 'utf8', 'latin1', 'gb18030', 'cp1252', 'cp852', 'utf16le'] as const;
export type EncodingOption = (typeof ENCODING_OPTIONS)[number];

export function isEncodingOption(value: string): value is EncodingOption {
  return (ENCODING_OPTIONS as readonly string[]).includes(value);
}

/**
 * Names an XML declaration may carry, mapped to the decoder we use. ISO-8859-1 stays latin1 (the declaration
 * is honoured literally); GBK and GB2312 are subsets of GB18030, so one decoder reads all three.
 */
const XML_ENCODING_NAMES: ReadonlyMap<string, TextEncoding> = new Map([
  ['utf-8', 'utf8'],
  ['utf8', 'utf8'],
  ['us-ascii', 'utf8'],
  ['ascii', 'utf8'],
  ['iso-8859-1', 'latin1'],
  ['iso8859-1', 'latin1'],
  ['latin1', 'latin1'],
  ['latin-1', 'latin1'],
  ['windows-1252', 'cp1252'],
  ['cp1252', 'cp1252'],
  ['gb18030', 'gb18030'],
  ['gbk', 'gb18030'],
  ['gb2312', 'gb18030'],
  ['cp852', 'cp852'],
  ['ibm852', 'cp852'],
]);

const XML_DECLARATION_ENCODING = /^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']/;

/** Reads the `encoding` pseudo-attribute of an XML declaration at the start of `head`, if there is one. */
export function xmlDeclaredEncoding(head: Buffer): string | undefined {
  const text = head.subarray(0, 200).toString('latin1');
  return XML_DECLARATION_ENCODING.exec(text)?.[1];
}

/**
 * Picks the decoder for a file from its first bytes: a byte-order mark wins, then an XML declaration, then
 * valid UTF-8, then GB18030 when the non-ASCII bytes pair up like Chinese text, else Windows-1252 (the
 * superset of Latin-1 that European bank exports use). A single-byte or GB `fallback` replaces the two
 * heuristics, for CSV profiles that know their bank's encoding.
 */
export function detectEncoding(head: Buffer, fallback?: TextEncoding): DetectedEncoding {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) {
    return { encoding: 'utf8', reason: 'bom', bomBytes: 3 };
  }
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf16le', reason: 'bom', bomBytes: 2 };
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) {
    throw new UnreadableStatementError('the file is UTF-16 big-endian, which is not supported; convert it to UTF-8');
  }
  const declared = xmlDeclaredEncoding(head);
  if (declared !== undefined) {
    // A UTF-16 file has a BOM (handled above); a readable ASCII declaration claiming UTF-16 is lying.
    const encoding = XML_ENCODING_NAMES.get(declared.toLowerCase());
    if (encoding === undefined) throw new UnreadableStatementError(`unknown encoding '${declared}' in the XML declaration`);
    return { encoding, reason: 'xml-declaration', bomBytes: 0 };
  }
  if (isValidUtf8(head)) return { encoding: 'utf8', reason: 'utf8-valid', bomBytes: 0 };
  // A UTF-8 fallback cannot apply to bytes that just failed UTF-8 validation; the heuristics decide then.
  if (fallback !== undefined && fallback !== 'utf8') return { encoding: fallback, reason: 'option', bomBytes: 0 };
  if (looksLikeGb18030(head)) return { encoding: 'gb18030', reason: 'gb18030-heuristic', bomBytes: 0 };
  return { encoding: 'cp1252', reason: 'single-byte-fallback', bomBytes: 0 };
}

/**
 * True when `bytes` is well-formed UTF-8. A multi-byte sequence cut off by the end of the buffer counts as
 * valid, because `bytes` is usually only the head of a longer file.
 */
export function isValidUtf8(bytes: Buffer): boolean {
  const length = bytes.length;
  let index = 0;
  while (index < length) {
    const lead = bytes[index]!;
    if (lead < 0x80) {
      index += 1;
      continue;
    }
    let continuationCount: number;
    if (lead >= 0xc2 && lead <= 0xdf) continuationCount = 1;
    else if (lead >= 0xe0 && lead <= 0xef) continuationCount = 2;
    else if (lead >= 0xf0 && lead <= 0xf4) continuationCount = 3;
    else return false;
    for (let offset = 1; offset <= continuationCount; offset += 1) {
      if (index + offset >= length) return true;
      const continuation = bytes[index + offset]!;
      if ((continuation & 0xc0) !== 0x80) return false;
    }
    // Overlong three-byte forms and UTF-16 surrogates are invalid UTF-8.
    const second = bytes[index + 1]!;
    if (lead === 0xe0 && second < 0xa0) return false;
    if (lead === 0xed && second > 0x9f) return false;
    if (lead === 0xf0 && second < 0x90) return false;
    if (lead === 0xf4 && second > 0x8f) return false;
    index += continuationCount + 1;
  }
  return true;
}

/**
 * GB18030 heuristic: every non-ASCII byte must belong to a well-formed GB18030 sequence, and there must be
 * at least GB_PAIRS_MIN pairs whose both bytes sit in the GB2312 hanzi zone (0xA1-0xFE). Latin-1 text fails
 * this because its accented letters stand alone between ASCII letters ("Müller" is 0xFC then 'l').
 */
export function looksLikeGb18030(bytes: Buffer): boolean {
  const length = bytes.length;
  let hanziPairCount = 0;
  let otherSequenceCount = 0;
  let index = 0;
  while (index < length) {
    const lead = bytes[index]!;
    if (lead < 0x80) {
      index += 1;
      continue;
    }
    if (lead === 0x80 || lead === 0xff) return false;
    if (index + 1 >= length) break;
    const second = bytes[index + 1]!;
    if (second >= 0x30 && second <= 0x39) {
      // Four-byte GB18030 sequence: lead, digit, lead-range byte, digit.
      if (index + 3 >= length) break;
      const third = bytes[index + 2]!;
      const fourth = bytes[index + 3]!;
      if (third < 0x81 || third > 0xfe || fourth < 0x30 || fourth > 0x39) return false;
      otherSequenceCount += 1;
      index += 4;
      continue;
    }
    if (second < 0x40 || second === 0x7f || second === 0xff) return false;
    if (lead >= 0xa1 && second >= 0xa1) hanziPairCount += 1;
    else otherSequenceCount += 1;
    index += 2;
  }
  return hanziPairCount >= GB_PAIRS_MIN && hanziPairCount >= otherSequenceCount;
}
