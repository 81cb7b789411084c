import type { StatementFormat } from './canonical';
import type { TextFormatParser } from './parser.port';
import { bai2Parser, createBai2LineReader } from './bai2/bai2.parser';
import { CSV_PROFILES, type CsvProfile, createCsvLineReader, csvParserFor } from './csv/csv.parser';
import type { LineAccountingOptions, TextLineReader } from './mt940/line-accounting';
import { createMt9xxLineReader, mt940Parser, mt942Parser } from './mt940/mt940.parser';

export const CSV_FORMAT_PREFIX = 'csv:';

/** The line-oriented parsers, by format. CSV parsers are built per profile (`csv:<profile>`). */
export function textParserFor(format: StatementFormat): TextFormatParser | undefined {
  if (format === 'mt940') return mt940Parser;
  if (format === 'mt942') return mt942Parser;
  if (format === 'bai2') return bai2Parser;
  if (format.startsWith(CSV_FORMAT_PREFIX)) return csvParserFor(format.slice(CSV_FORMAT_PREFIX.length));
  return undefined;
}

/**
 * The synchronous line reader of a line-oriented format (see TextLineReader): what readStatementFile drives, one
 * call per line instead of an async-iterator hop per line and per record. Throws UnreadableStatementError for an
 * unknown CSV profile, as textParserFor does.
 */
export function textLineReaderFor(format: StatementFormat, options: LineAccountingOptions = {}): TextLineReader | undefined {
  if (format === 'mt940' || format === 'mt942') return createMt9xxLineReader(format, options);
  if (format === 'bai2') return createBai2LineReader(options);
  if (format.startsWith(CSV_FORMAT_PREFIX)) {
    const profileName = format.slice(CSV_FORMAT_PREFIX.length);
    const profile = CSV_PROFILES.get(profileName);
    if (profile === undefined) {
      csvParserFor(profileName); // throws the error naming the unknown profile and the known ones
      return undefined;
    }
    return createCsvLineReader(profile, options);
  }
  return undefined;
}

export function csvProfiles(): ReadonlyMap<string, CsvProfile> {
  return CSV_PROFILES;
}

export function csvProfileOf(format: StatementFormat): CsvProfile | undefined {
  return format.startsWith(CSV_FORMAT_PREFIX) ? CSV_PROFILES.get(format.slice(CSV_FORMAT_PREFIX.length)) : undefined;
}
