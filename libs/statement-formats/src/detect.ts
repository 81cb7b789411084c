import { type StatementFormat, type TextEncoding, UnreadableStatementError } from './canonical';
import { camtMessageTypeOfHead } from './camt/camt-message-type';
import { decodeBuffer } from './decode/decode-stream';
import { DETECTION_HEAD_BYTES, type EncodingOption, detectEncoding } from './decode/encoding-detection';
import { CSV_FORMAT_PREFIX, csvProfiles } from './text-formats';

/** `--format` values: auto-detect, or one format (`csv:<profile>` for a CSV profile). */
export type FormatOption = 'auto' | StatementFormat;

const FIXED_FORMATS: readonly StatementFormat[] = ['mt940', 'mt942', 'camt.052', 'camt.053', 'camt.054', 'bai2'];

/** Lines of the head handed to CSV profiles' header matchers. */
const CSV_HEADER_LINES_MAX = 50;
/** Characters of the file quoted in the "not recognised" error. */
const QUOTED_HEAD_LENGTH_MAX = 60;

export function isFormatOption(value: string): value is FormatOption {
  if (value === 'auto' || (FIXED_FORMATS as readonly string[]).includes(value)) return true;
  return value.startsWith(CSV_FORMAT_PREFIX) && value.length > CSV_FORMAT_PREFIX.length;
}

export interface DetectFormatOptions {
  /** A forced encoding (`--encoding`); `auto` or absent detects per candidate format. */
  readonly encoding?: EncodingOption;
}

const SWIFT_BLOCK_2 = /\{2:[IO]94([02])/;
const MT942_TAG = /^:(13D|34F|90[DC]):/m;
const MT940_REFERENCE_TAG = /^:20:/m;
const MT940_BODY_TAG = /^:(25|28C?|60[FM]|61|62[FM]):/m;
const RABOBANK_PRE_TAG = /^:940:/m;

function forcedEncoding(options: DetectFormatOptions): TextEncoding | undefined {
  return options.encoding === undefined || options.encoding === 'auto' ? undefined : options.encoding;
}

/**
 * Names the format of a bank file from its first bytes (up to DETECTION_HEAD_BYTES): camt by its ISO 20022
 * namespace; MT942 by `:13D:`/`:34F:`/`:90D:` or `942` in a SWIFT block 2; MT940 by `:20:` plus a body tag
 * (also inside a FIN envelope); BAI2 by a first record `01,`; CSV when a profile recognises the header.
 * Throws UnreadableStatementError ("not a recognised bank statement: ...") when none fits.
 */
export function detectFormat(head: Buffer, options: DetectFormatOptions = {}): StatementFormat {
  const sample = head.subarray(0, DETECTION_HEAD_BYTES);
  if (sample.length === 0) throw new UnreadableStatementError('not a recognised bank statement: the file is empty');
  const forced = forcedEncoding(options);
  const text = decodeBuffer(sample, forced ?? detectEncoding(sample).encoding);
  const trimmed = text.replace(/^[\s\u0000]+/, '');

  if (trimmed.startsWith('<')) {
    const camt = camtMessageTypeOfHead(trimmed);
    if (camt !== undefined) return camt.format;
    throw new UnreadableStatementError(`not a recognised bank statement: XML without a camt.052/053/054 namespace (${quote(trimmed)})`);
  }
  const block2 = SWIFT_BLOCK_2.exec(trimmed);
  if (block2 !== null) return block2[1] === '2' ? 'mt942' : 'mt940';
  if (MT942_TAG.test(trimmed) && MT940_REFERENCE_TAG.test(trimmed)) return 'mt942';
  if (MT940_REFERENCE_TAG.test(trimmed) && (MT940_BODY_TAG.test(trimmed) || RABOBANK_PRE_TAG.test(trimmed))) return 'mt940';
  if (trimmed.startsWith('01,')) return 'bai2';

  for (const profile of csvProfiles().values()) {
    const profileText = forced !== undefined ? text : decodeBuffer(sample, detectEncoding(sample, profile.defaultEncoding).encoding).replace(/^\uFEFF/, '');
    const lines = headLines(profileText, sample.length >= DETECTION_HEAD_BYTES);
    if (profile.matchesHeader(lines)) return `${CSV_FORMAT_PREFIX}${profile.name}`;
  }
  throw new UnreadableStatementError(
    `not a recognised bank statement: neither camt XML, MT940/MT942, BAI2 nor a known CSV profile (starts with ${quote(trimmed)})`,
  );
}

function headLines(text: string, cutOff: boolean): string[] {
  const lines = text.split(/\r\n|\r|\n/, CSV_HEADER_LINES_MAX + 1);
  // The last line of a cut-off head is probably incomplete.
  if (cutOff || lines.length > CSV_HEADER_LINES_MAX) lines.pop();
  return lines;
}

function quote(text: string): string {
  const firstLine = text.split(/\r\n|\r|\n/, 1)[0] ?? '';
  const shown = firstLine.length > QUOTED_HEAD_LENGTH_MAX ? `${firstLine.slice(0, QUOTED_HEAD_LENGTH_MAX)}…` : firstLine;
  return `'${shown.replace(/[\u0000-\u001f\u007f]/g, '?')}'`;
}
