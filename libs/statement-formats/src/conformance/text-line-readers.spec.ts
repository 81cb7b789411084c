import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnreadableStatementError, type CanonicalRecord } from '../canonical';
import { collect, linesOf, type SourceLine } from '../parser.port';
import { bai2Parser, createBai2LineReader } from '../bai2/bai2.parser';
import { CSV_PROFILES, createCsvLineReader, csvParserFor } from '../csv/csv.parser';
import type { TextLineReader } from '../mt940/line-accounting';
import { createMt9xxLineReader, mt940Parser } from '../mt940/mt940.parser';

function splitLines(text: string): SourceLine[] {
  const parts = text.split(/\r\n|\r|\n/);
  if (parts[parts.length - 1] === '') parts.pop();
  return parts.map((part, index) => ({ lineNo: index + 1, text: part }));
}

/** Drives a TextLineReader the way a caller that splits lines itself would: copy each answer before the next call. */
function readAll(sut: TextLineReader, text: string): CanonicalRecord[] | string {
  const records: CanonicalRecord[] = [];
  try {
    for (const line of splitLines(text)) records.push(...sut.push(line));
    records.push(...sut.finish());
  } catch (error) {
    if (error instanceof UnreadableStatementError) return error.message;
    throw error;
  }
  return records;
}

async function parseAll(parse: () => AsyncIterable<CanonicalRecord>): Promise<CanonicalRecord[] | string> {
  try {
    return await collect(parse());
  } catch (error) {
    if (error instanceof UnreadableStatementError) return error.message;
    throw error;
  }
}

const fixturesOf = (folder: string): [string, string][] =>
  readdirSync(join(__dirname, '..', folder, 'test-fixtures')).map((name) => [name, readFileSync(join(__dirname, '..', folder, 'test-fixtures', name), 'utf8')]);

describe('TextLineReader (synchronous form of the text parsers)', () => {
  it.each(fixturesOf('mt940'))('MT940 %s: same records as mt940Parser', async (_name, text) => {
    expect(readAll(createMt9xxLineReader('mt940'), text)).toEqual(await parseAll(() => mt940Parser.parse(linesOf(text))));
  });

  it.each(fixturesOf('bai2'))('BAI2 %s: same records as bai2Parser', async (_name, text) => {
    expect(readAll(createBai2LineReader(), text)).toEqual(await parseAll(() => bai2Parser.parse(linesOf(text))));
  });

  it('CSV: same records as csvParserFor, and the same unreadable error', async () => {
    const text = 'date,amount,currency,description\n2026-01-02,1.00,EUR,"two\nlines"\n2026-01-03,x,EUR,bad\n';
    const profile = CSV_PROFILES.get('generic');
    if (profile === undefined) throw new Error('generic profile missing');

    expect(readAll(createCsvLineReader(profile), text)).toEqual(await parseAll(() => csvParserFor('generic').parse(linesOf(text))));
    expect(readAll(createCsvLineReader(profile), 'no header here\n')).toEqual(await parseAll(() => csvParserFor('generic').parse(linesOf('no header here\n'))));
  });

  it('hands back only the records completed by this line (the array is reused)', () => {
    const sut = createMt9xxLineReader('mt940');
    const lines = splitLines(':20:A\n:25:ACC\n:60F:C250101EUR0,00\n:61:250101C1,00NTRFX\n:62F:C250101EUR1,00\n-\n:20:B\n');

    const counts = lines.map((line) => sut.push(line).length);

    expect(counts).toEqual([0, 0, 0, 0, 0, 0, 2]);
    expect(sut.finish().map((record) => record.kind)).toEqual(['rejected']); // ':20:B' has no :25:
  });
});
