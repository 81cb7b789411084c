import * as fs from 'node:fs';
import * as path from 'node:path';
import { minorDigitsOf, parseDecimalToMinor } from '@recon/money';
import { type CanonicalRecord, type EntryRecord, type StatementRecord, UnreadableStatementError } from '../canonical';
import { StatementChecker } from '../checks/statement-checker';
import { collect } from '../parser.port';
import { readStatementFile } from '../read-statement';

/**
 * Conformance of the camt parser over third-party samples in ../shared/corpora (read, never copied). Every
 * sample must parse (or be refused when it is a known-bad sample); where genkgo/camt left its expected
 * output, amounts, signs, dates, references and balances are compared; everywhere the statement checker's
 * balance equation is checked and reported as a warning column (many samples are trimmed by hand). Known deviations are listed below with a reason each, and an allow-listed
 * sample that starts to pass fails the test so that the list stays true. Prints a pass table per format
 * and origin. MT940/MT942/BAI2/CSV have their own conformance spec.
 */
const REPO_ROOT = path.resolve(__dirname, '../../../..');
const CORPORA_DIR = process.env.RECON_CORPORA_DIR ?? path.resolve(REPO_ROOT, '../shared/corpora');
const CAMT_FOLDERS = ['camt052', 'camt053', 'camt054'] as const;
const NOT_INPUTS = /(\.json|\.md|\.pydata|LICENSE.*)$/;

/** Samples that are broken on purpose: the parser must refuse the whole file. */
const MUST_BE_UNREADABLE: ReadonlyMap<string, string> = new Map([
  ['camt053/genkgo-camt/camt053.v2.wrong.xml', 'genkgo negative case: a camt.053 without any Stmt'],
]);

/** Samples with a broken entry: the parser must turn it into a `rejected` record. */
const MUST_REJECT_AN_ENTRY: ReadonlyMap<string, string> = new Map([
  ['camt053/OCA-bank-statement-import/test-camt053-wrong-amount', 'OCA negative case: an entry without Amt'],
]);

/** Known deviations from the oracle or from the invariants, with the reason we accept them. */
const ALLOWED_DEVIATIONS: ReadonlyMap<string, string> = new Map([
  ...['camt053.v2.minimal', 'camt053.v2.minimal.ultimate', 'camt053.v2.with-party-ids', 'camt053.v3', 'camt053.v4', 'camt053.v8'].map(
    (name): [string, string] => [
      `camt053/genkgo-camt/${name}.xml`,
      'the fixture gives the EUR account a CLBD in SEK (and other balances in CHF/JPY); we refuse a balance in another currency than the account (a rejected header record) where genkgo keeps it',
    ],
  ),
  ['camt053/actualbudget-actual/camt.053.tracking-number.xml', 'mock file with no Acct and no Sts: we refuse the statement header and its entries'],
  ['camt052/genkgo-camt/camt052.v4.xml', 'the only entry is PDNG: we refuse non-booked entries (genkgo lists it)'],
  ['camt052/genkgo-camt/camt052.v6.xml', 'the only entry is PDNG: we refuse non-booked entries (genkgo lists it)'],
  ['camt052/genkgo-camt/camt052.v6.Amt-zero.xml', 'the only entry is PDNG: we refuse non-booked entries (genkgo lists it)'],
  ['camt052/moov-io-iso20022/FI_camt_052_sample.xml.xml', 'the intraday report holds a PDNG entry, which we refuse as not booked'],
  ['camt054/moov-io-iso20022/FI_camt_054_sample.xml.xml', 'one entry has status INFO (information only), which we refuse as not booked'],
]);

interface SampleResult {
  readonly file: string;
  readonly format: string;
  readonly origin: string;
  readonly problems: readonly string[];
  /** Statements whose entries do not add up: many samples are trimmed by hand, so this warns, never fails. */
  readonly unbalancedStatements: readonly string[];
}

function listInputs(): string[] {
  const files: string[] = [];
  for (const folder of CAMT_FOLDERS) {
    const formatDir = path.join(CORPORA_DIR, folder);
    if (!fs.existsSync(formatDir)) continue;
    for (const origin of fs.readdirSync(formatDir).sort()) {
      const originDir = path.join(formatDir, origin);
      if (!fs.statSync(originDir).isDirectory()) continue;
      for (const name of fs.readdirSync(originDir).sort()) {
        if (!NOT_INPUTS.test(name) && fs.statSync(path.join(originDir, name)).isFile()) files.push(`${folder}/${origin}/${name}`);
      }
    }
  }
  return files;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every object of the genkgo dump whose PHP class name ends with `classSuffix`, wherever it sits. */
function objectsOfClass(root: Json, classSuffix: string): Record<string, Json>[] {
  const found: Record<string, Json>[] = [];
  const visit = (node: Json): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
    } else if (node !== null && typeof node === 'object') {
      const className = node.__CLASS__;
      if (typeof className === 'string' && className.endsWith(classSuffix)) found.push(node);
      for (const value of Object.values(node)) visit(value);
    }
  };
  visit(root);
  return found;
}

function field(node: Json | undefined, ...names: string[]): Json | undefined {
  let current: Json | undefined = node;
  for (const name of names) {
    if (current === null || current === undefined || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = current[name];
  }
  return current;
}

function minorOf(amount: string, currency: string): bigint {
  return parseDecimalToMinor(amount, minorDigitsOf(currency));
}

function compareWithGenkgo(oracle: Json, records: readonly CanonicalRecord[], problems: string[]): void {
  const statements = records.filter((record): record is StatementRecord => record.kind === 'statement');
  const entries = records.filter((record): record is EntryRecord => record.kind === 'entry');
  for (const record of [...objectsOfClass(oracle, '\\Statement'), ...objectsOfClass(oracle, '\\Report'), ...objectsOfClass(oracle, '\\Notification')]) {
    const id = field(record, 'getId');
    const ours = statements.find((statement) => statement.statementId === id);
    if (ours === undefined) {
      problems.push(`statement ${String(id)} missing`);
      continue;
    }
    const account = field(record, 'getAccount', 'getIdentification');
    if (account !== ours.account) problems.push(`statement ${ours.statementId}: account ${ours.account} ≠ ${String(account)}`);
    const balances = field(record, 'getBalances');
    const seenTypes = new Set<string>();
    for (const balance of Array.isArray(balances) ? balances : []) {
      const type = field(balance, 'getType');
      // genkgo maps OPBD and PRCD both to "opening"; like us, the first one (OPBD) is the opening balance.
      if (typeof type !== 'string' || seenTypes.has(type)) continue;
      seenTypes.add(type);
      const ourBalance = type === 'opening' ? ours.openingBalance : type === 'closing' ? ours.closingBalance : undefined;
      if (type !== 'opening' && type !== 'closing') continue;
      const expectedMinor = BigInt(String(field(balance, 'getAmount', 'getAmount')));
      const currency = String(field(balance, 'getAmount', 'getCurrency', 'getCode'));
      if (ourBalance === undefined) {
        problems.push(`statement ${ours.statementId}: ${type} balance missing`);
        continue;
      }
      if (currency !== ours.currency || minorOf(ourBalance.amount, ours.currency) !== expectedMinor) {
        problems.push(`statement ${ours.statementId}: ${type} balance ${ourBalance.amount} ${ours.currency} ≠ ${expectedMinor} minor ${currency}`);
      }
      const date = String(field(balance, 'getDate', '0')).slice(0, 10);
      if (ourBalance.date !== date) problems.push(`statement ${ours.statementId}: ${type} balance date ${ourBalance.date} ≠ ${date}`);
    }
  }
  for (const entry of objectsOfClass(oracle, '\\DTO\\Entry')) {
    if (field(entry, 'getStatus') !== 'BOOK') continue;
    const currency = String(field(entry, 'getAmount', 'getCurrency', 'getCode'));
    const expectedMinor = BigInt(String(field(entry, 'getAmount', 'getAmount')));
    const bankRef = field(entry, 'getAccountServicerReference') ?? undefined;
    const ours = entries.find(
      (candidate) =>
        candidate.currency === currency && minorOf(candidate.amount, currency) === expectedMinor && (bankRef === null || candidate.bankRef === bankRef),
    );
    if (ours === undefined) {
      problems.push(`entry ${expectedMinor} ${currency} ${String(bankRef)} missing or different`);
      continue;
    }
    if (ours.reversal !== (field(entry, 'getReversalIndicator') === true)) problems.push(`entry ${ours.lineNo}: reversal ${ours.reversal}`);
    const expectedIndicator = field(entry, 'getCreditDebitIndicator');
    if ((expectedIndicator === 'DBIT') !== ours.amount.startsWith('-') && expectedMinor !== 0n)
      problems.push(`entry ${ours.lineNo}: sign ≠ ${String(expectedIndicator)}`);
    for (const [name, ourDate] of [
      ['getBookingDate', ours.bookingDate],
      ['getValueDate', ours.valueDate],
    ] as const) {
      const expected = field(entry, name, '0');
      // genkgo converts DtTm to UTC; we keep the bank's calendar date, so only whole-day values compare.
      if (typeof expected === 'string' && expected.slice(10) === 'T00:00:00+00:00' && ourDate !== expected.slice(0, 10)) {
        problems.push(`entry ${ours.lineNo}: ${name} ${String(ourDate)} ≠ ${expected.slice(0, 10)}`);
      }
    }
    const details = field(entry, 'getTransactionDetails');
    const endToEndId = Array.isArray(details) && details.length === 1 ? field(details[0], 'getReference', 'getEndToEndId') : undefined;
    if (typeof endToEndId === 'string' && endToEndId !== 'NOTPROVIDED' && ours.endToEndId !== endToEndId) {
      problems.push(`entry ${ours.lineNo}: endToEndId ${String(ours.endToEndId)} ≠ ${endToEndId}`);
    }
    const domain = field(entry, 'getBankTransactionCode', 'getDomain');
    if (domain !== null && domain !== undefined) {
      const code = `${String(field(domain, 'getCode'))}/${String(field(domain, 'getFamily', 'getCode'))}/${String(field(domain, 'getFamily', 'getSubFamilyCode'))}`;
      if (ours.bankTxCode !== code) problems.push(`entry ${ours.lineNo}: bankTxCode ${String(ours.bankTxCode)} ≠ ${code}`);
    }
  }
}

async function checkSample(relative: string): Promise<SampleResult> {
  const [format = '', origin = ''] = relative.split('/');
  const problems: string[] = [];
  const file = path.join(CORPORA_DIR, relative);
  let records: CanonicalRecord[];
  try {
    records = await collect(readStatementFile(file));
  } catch (error: unknown) {
    if (!(error instanceof UnreadableStatementError)) throw error;
    if (!MUST_BE_UNREADABLE.has(relative)) problems.push(`unreadable: ${error.message}`);
    return { file: relative, format, origin, problems, unbalancedStatements: [] };
  }
  if (MUST_BE_UNREADABLE.has(relative)) problems.push('read although it must be refused');
  const rejected = records.filter((record) => record.kind === 'rejected');
  if (MUST_REJECT_AN_ENTRY.has(relative)) {
    if (rejected.length === 0) problems.push('no entry rejected although one is broken');
  } else {
    for (const record of rejected) problems.push(`rejected line ${record.lineNo}: ${record.reason}`);
  }
  if (!records.some((record) => record.kind === 'statement')) problems.push('no statement');
  const checker = new StatementChecker();
  for (const record of records) checker.accept(record);
  const unbalancedStatements = checker
    .findings()
    .filter((finding) => finding.kind === 'balance_does_not_add_up')
    .map((finding) => finding.message);
  const oracleFile = file.replace(/\.xml$/, '.json');
  if (origin === 'genkgo-camt' && oracleFile !== file && fs.existsSync(oracleFile)) {
    compareWithGenkgo(JSON.parse(fs.readFileSync(oracleFile, 'utf8')) as Json, records, problems);
  }
  return { file: relative, format, origin, problems, unbalancedStatements };
}

function printTable(results: readonly SampleResult[]): void {
  const rows = new Map<string, { passed: number; allowed: number; failed: number; unbalanced: number }>();
  for (const result of [...results].sort((left, right) => left.file.localeCompare(right.file))) {
    const key = `${result.format.replace('camt05', 'camt.05')} ${result.origin}`;
    const row = rows.get(key) ?? { passed: 0, allowed: 0, failed: 0, unbalanced: 0 };
    if (result.unbalancedStatements.length > 0) row.unbalanced += 1;
    if (result.problems.length === 0) row.passed += 1;
    else if (ALLOWED_DEVIATIONS.has(result.file)) row.allowed += 1;
    else row.failed += 1;
    rows.set(key, row);
  }
  const lines = ['format   origin                          samples  pass  allowed  fail  unbalanced (warning)'];
  for (const [key, row] of rows) {
    const [format = '', origin = ''] = key.split(' ');
    lines.push(
      `${format.padEnd(8)} ${origin.padEnd(31)} ${String(row.passed + row.allowed + row.failed).padStart(7)} ${String(row.passed).padStart(5)} ${String(row.allowed).padStart(8)} ${String(row.failed).padStart(5)} ${String(row.unbalanced).padStart(11)}`,
    );
  }
  console.log(`camt conformance over ${CORPORA_DIR}\n${lines.join('\n')}`);
}

const inputs = fs.existsSync(CORPORA_DIR) ? listInputs() : [];

describe('camt conformance over shared corpora', () => {
  if (inputs.length === 0) {
    it('is skipped: the corpora folder is absent', () => {
      console.warn(`camt conformance skipped: no camt samples under ${CORPORA_DIR} (set RECON_CORPORA_DIR to run it)`);
      expect(inputs).toHaveLength(0);
    });
    return;
  }

  const results: SampleResult[] = [];
  afterAll(() => printTable(results));

  it.each(inputs)('%s', async (relative) => {
    const result = await checkSample(relative);
    results.push(result);
    if (ALLOWED_DEVIATIONS.has(relative)) {
      // A sample on the allow-list must still deviate; otherwise the entry is stale and must go.
      expect(result.problems.length).toBeGreaterThan(0);
    } else {
      expect(result.problems).toEqual([]);
    }
  });
});
