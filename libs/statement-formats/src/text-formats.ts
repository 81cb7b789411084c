import type { StatementFormat } from './canonical';
import type { TextFormatParser } from './parser.port';
import { bai2Parser } from './bai2/bai2.parser';
import { CSV_PROFILES, type CsvProfile, csvParserFor } from './csv/csv.parser';
import { mt940Parser, mt942Parser } from './mt940/mt940.parser';

export const CSV_FORMAT_PREFIX = 'csv:';

/** The line-oriented parsers, by format. CSV parsers are built per profile (`csv:<profile>`). */
export function textParserFor(format: StatementFormat): TextFormatParser | undefined {
  if (format === 'mt940') return mt940Parser;
  if (format === 'mt942') return mt942Parser;
  if (format === 'bai2') return bai2Parser;
  if (format.startsWith(CSV_FORMAT_PREFIX)) return csvParserFor(format.slice(CSV_FORMAT_PREFIX.length));
  return undefined;
}

export function csvProfiles(): ReadonlyMap<string, CsvProfile> {
  return CSV_PROFILES;
}

export function csvProfileOf(format: StatementFormat): CsvProfile | undefined {
  return format.startsWith(CSV_FORMAT_PREFIX) ? CSV_PROFILES.get(format.slice(CSV_FORMAT_PREFIX.length)) : undefined;
}
