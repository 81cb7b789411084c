import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { UnreadableStatementError, type CanonicalRecord } from '../canonical';
import type { SourceLine } from '../parser.port';
import { parseBai2 } from '../bai2/bai2.parser';
import { CSV_PROFILES, parseCsv } from '../csv/csv.parser';
import type { LineAccountingOptions, LineDisposition } from '../mt940/line-accounting';
import { parseMt9xx } from '../mt940/mt940.parser';

/**
 * Robustness of the text parsers under damage: thousands of mutated copies of the project's fixtures (and of corpus
 * samples, when the corpora folder is present) — lines deleted, duplicated, swapped, characters flipped, the file
 * truncated. For each input the parser either throws UnreadableStatementError (whole-file nonsense) or yields
 * records in file order such that every physical line is accounted for, every entry belongs to a statement emitted
 * before it, and every money and date field has the canonical shape.
 */

const RUNS_PER_FORMAT = Number(process.env.RECON_FUZZ_RUNS ?? 1_500);
const CORPUS_SAMPLE_BYTES_MAX = 24 * 1024;
const CORPUS_SAMPLES_PER_FORMAT_MAX = 40;

type Parse = (lines: AsyncIterable<SourceLine>, options: LineAccountingOptions) => AsyncGenerator<CanonicalRecord>;

const corporaDir = process.env.RECON_CORPORA_DIR ?? resolve(__dirname, '../../../../../shared/corpora');

function fixtureTexts(folder: string): string[] {
  const dir = join(__dirname, '..', folder, 'test-fixtures');
  return readdirSync(dir).map((name) => readFileSync(join(dir, name), 'utf8'));
}

function corpusTexts(format: string): string[] {
  const root = join(corporaDir, format);
  if (!existsSync(root)) return [];
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        if (!name.startsWith('_')) walk(path);
      } else if (
        !/\.(md|yml|json|ofx|qif|beancount|ledger|yaml|xlsx?|txt\.license)$|^LICEN[CS]E/i.test(name) &&
        statSync(path).size <= CORPUS_SAMPLE_BYTES_MAX
      ) {
        if (found.length < CORPUS_SAMPLES_PER_FORMAT_MAX) found.push(readFileSync(path, 'latin1'));
      }
    }
  };
  walk(root);
  return found;
}

function splitLines(text: string): string[] {
  const parts = text.split(/\r\n|\r|\n/);
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

type Mutation =
  | { kind: 'delete'; at: number }
  | { kind: 'duplicate'; at: number }
  | { kind: 'swap'; at: number }
  | { kind: 'flip'; at: number; column: number; char: string }
  | { kind: 'truncate'; at: number; column: number }
  | { kind: 'insert'; at: number; line: string };

const NASTY_CHARS = [
  ':',
  '/',
  ',',
  ';',
  '?',
  '-',
  '+',
  '"',
  '\t',
  '{',
  '}',
  '0',
  '9',
  'C',
  'D',
  'R',
  'N',
  ' ',
  '.',
  '88',
  '16,',
  ':61:',
  ':20:',
  '\u00e4',
  '人',
];

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), column: fc.nat(), char: fc.constantFrom(...NASTY_CHARS) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), column: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    line: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(':61:', ':20:X', ':86:?20EREF+', '-', '-}', '88,', '16,475,', '49,0,1/', '"', '')),
  }),
);

function mutate(original: readonly string[], mutations: readonly Mutation[]): string[] {
  const lines = [...original];
  for (const mutation of mutations) {
    if (lines.length === 0) break;
    const at = mutation.at % lines.length;
    const line = lines[at] ?? '';
    switch (mutation.kind) {
      case 'delete':
        lines.splice(at, 1);
        break;
      case 'duplicate':
        lines.splice(at, 0, line);
        break;
      case 'swap':
        if (at + 1 < lines.length) lines.splice(at, 2, lines[at + 1] ?? '', line);
        break;
      case 'flip': {
        const column = line.length === 0 ? 0 : mutation.column % line.length;
        lines[at] = line.slice(0, column) + mutation.char + line.slice(column + 1);
        break;
      }
      case 'truncate': {
        const column = line.length === 0 ? 0 : mutation.column % line.length;
        lines.splice(at, lines.length - at, line.slice(0, column));
        break;
      }
      case 'insert':
        lines.splice(at, 0, mutation.line);
        break;
    }
  }
  return lines;
}

const AMOUNT_SHAPE = /^-?\d+(\.\d+)?$/;
const DATE_SHAPE = /^\d{4}-\d{2}-\d{2}$/;

async function checkInvariants(parse: Parse, lines: readonly string[], exactlyOnce: boolean, lineLengthMax?: number): Promise<void> {
  const accounted = new Map<number, LineDisposition[]>();
  async function* source(): AsyncGenerator<SourceLine> {
    for (let index = 0; index < lines.length; index += 1) yield { lineNo: index + 1, text: lines[index] ?? '' };
  }
  const records: CanonicalRecord[] = [];
  try {
    for await (const record of parse(source(), {
      ...(lineLengthMax !== undefined ? { lineLengthMax } : {}),
      onLineAccounted: (lineNo, disposition) => accounted.set(lineNo, [...(accounted.get(lineNo) ?? []), disposition]),
    })) {
      records.push(record);
    }
  } catch (error) {
    if (error instanceof UnreadableStatementError) return;
    throw error;
  }
  for (let lineNo = 1; lineNo <= lines.length; lineNo += 1) {
    const dispositions = accounted.get(lineNo);
    if (dispositions === undefined) throw new Error(`line ${lineNo} was not accounted for`);
    if (exactlyOnce && dispositions.length !== 1) throw new Error(`line ${lineNo} was accounted ${dispositions.length} times`);
  }
  for (const lineNo of accounted.keys()) if (lineNo < 1 || lineNo > lines.length) throw new Error(`accounted a line ${lineNo} that does not exist`);
  const statements = new Map<string, string>();
  let previousLineNo = 0;
  for (const record of records) {
    if (record.kind !== 'statement') {
      if (record.lineNo < previousLineNo) throw new Error(`record at line ${record.lineNo} came after one at line ${previousLineNo}: not in file order`);
      previousLineNo = record.lineNo;
    }
    for (const [key, value] of Object.entries(record)) if (value === null || value === undefined) throw new Error(`${record.kind}.${key} is ${String(value)}`);
    if (record.kind === 'statement') {
      if (statements.has(record.statementId)) throw new Error(`statementId ${record.statementId} used twice`);
      statements.set(record.statementId, record.currency);
      for (const balance of [record.openingBalance, record.closingBalance]) {
        if (balance !== undefined && (!AMOUNT_SHAPE.test(balance.amount) || !DATE_SHAPE.test(balance.date)))
          throw new Error(`bad balance ${JSON.stringify(balance)}`);
      }
    } else if (record.kind === 'entry') {
      if (statements.get(record.statementId) !== record.currency)
        throw new Error(`entry at line ${record.lineNo} has no statement ${record.statementId} in ${record.currency} before it`);
      if (!AMOUNT_SHAPE.test(record.amount)) throw new Error(`entry amount ${record.amount}`);
      for (const date of [record.valueDate, record.bookingDate]) if (date !== undefined && !DATE_SHAPE.test(date)) throw new Error(`entry date ${date}`);
      if (!accounted.get(record.lineNo)?.includes('entry')) throw new Error(`entry line ${record.lineNo} not accounted as entry`);
    } else {
      if (record.lineNo < 1 || record.lineNo > Math.max(lines.length, 1)) throw new Error(`rejected lineNo ${record.lineNo} out of range`);
      if (record.reason.length === 0) throw new Error('rejected without a reason');
    }
  }
}

const cases: { name: string; parse: Parse; inputs: string[]; exactlyOnce: boolean }[] = [
  {
    name: 'MT940',
    parse: (lines, options) => parseMt9xx('mt940', lines, { ...options, entriesBufferedMax: 3 }),
    inputs: [...fixtureTexts('mt940'), ...corpusTexts('mt940'), ...corpusTexts('mt942')],
    exactlyOnce: true,
  },
  { name: 'BAI2', parse: (lines, options) => parseBai2(lines, options), inputs: [...fixtureTexts('bai2'), ...corpusTexts('bai2')], exactlyOnce: false },
  {
    name: 'CSV cn-gbk-bank',
    parse: (lines, options) => parseCsv(CSV_PROFILES.get('cn-gbk-bank')!, lines, options),
    inputs: [
      '明细查询文件下载\n\n卡号: 6222 0000 1234 5678,"x"\n交易日期,摘要,交易金额(收入),交易金额(支出),交易币种,对方户名\n2026-01-05\t,"转账\t","1,234.56\t","-\t",人民币,"张三\t"\n2026-01-06,"消\n费",-,24.00,人民币,李四\n人民币合计,,1,2\n',
    ],
    exactlyOnce: true,
  },
  {
    name: 'CSV de-bank',
    parse: (lines, options) => parseCsv(CSV_PROFILES.get('de-bank')!, lines, options),
    inputs: [
      'Kontonummer;Buchungstag;Wertstellung;Auftraggeber/Empfänger;VWZ1;Betrag;Währung\n1;10.10.2025;11.10.2025;"A;B";x;-1.234,56;EUR\n1;12.10.2025;12.10.2025;C;"y\nz";98,76;EUR\n',
    ],
    exactlyOnce: true,
  },
];

describe('text format parsers under mutation', () => {
  it.each(cases.map((entry) => [entry.name, entry] as const))(
    '%s: only UnreadableStatementError escapes, and every line is accounted for',
    async (_name, entry) => {
      const originals = entry.inputs.map(splitLines);
      await fc.assert(
        fc.asyncProperty(
          fc.nat({ max: originals.length - 1 }),
          fc.array(mutationArb, { minLength: 1, maxLength: 6 }),
          // Now and then a tiny line-length limit, so that the too-long-line path is exercised in every state.
          fc.option(fc.integer({ min: 8, max: 60 }), { freq: 5, nil: undefined }),
          async (index, mutations, lineLengthMax) => {
            await checkInvariants(entry.parse, mutate(originals[index] ?? [], mutations), entry.exactlyOnce, lineLengthMax);
          },
        ),
        { numRuns: RUNS_PER_FORMAT, seed: Number(process.env.RECON_FUZZ_SEED ?? 20_260_115) },
      );
    },
    120_000,
  );

  it('accounts for every line of each unmutated input too', async () => {
    for (const entry of cases) for (const input of entry.inputs) await checkInvariants(entry.parse, splitLines(input), entry.exactlyOnce);
  });
});
