import type { CanonicalRecord } from '../canonical';
import type { SourceLine, TextParseOptions } from '../parser.port';

/**
 * What became of one physical input line. The text parsers (MT940/MT942, BAI2, CSV) report every line they read
 * exactly once through `onLineAccounted`, so a test (or an auditor's debug run) can prove that no line was silently
 * dropped: each line is part of a statement record, part of an entry record, part of a rejected record, or noise the
 * format defines as such (SWIFT FIN envelopes, bank pre-headers, blank lines, CSV preambles and footers).
 */
export type LineDisposition = 'statement' | 'entry' | 'rejected' | 'noise';

export interface LineAccountingOptions extends TextParseOptions {
  /** Called once per physical line, in no particular order relative to the yielded records. */
  readonly onLineAccounted?: (lineNo: number, disposition: LineDisposition) => void;
}

/**
 * Synchronous, line-at-a-time form of a text parser, for callers that split lines themselves: it saves the
 * async-iterator hop per line of `TextFormatParser.parse`. The returned array belongs to the reader and is valid
 * until the next `push`/`finish`; `finish` throws UnreadableStatementError for whole-file nonsense.
 */
export interface TextLineReader {
  push(line: SourceLine): readonly CanonicalRecord[];
  finish(): readonly CanonicalRecord[];
}

/** Longest line a text parser reads; a longer one becomes a `rejected` record (hostile or binary input). */
export const TEXT_LINE_LENGTH_MAX = 16_384;

/** A rejected record's `raw` keeps at most this many characters of the offending text. */
export const REJECTED_RAW_LENGTH_MAX = 2_000;

export function clipRaw(text: string): string {
  return text.length <= REJECTED_RAW_LENGTH_MAX ? text : `${text.slice(0, REJECTED_RAW_LENGTH_MAX)}…`;
}

/** Quotes user text inside a reject reason without letting a huge field flood the message. */
export function quoteForReason(text: string): string {
  const clipped = text.length <= 60 ? text : `${text.slice(0, 60)}…`;
  return `'${clipped}'`;
}
