import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import * as iconv from 'iconv-lite';
import { minorDigitsOf, parseDecimalToMinor } from '@recon/money';
import { UnreadableStatementError, type CanonicalRecord, type EntryRecord, type StatementRecord } from '../canonical';
import { collect, linesOf, type TextFormatParser } from '../parser.port';
import { bai2Parser } from '../bai2/bai2.parser';
import { csvParserFor, csvParserForProfile, loadCsvProfile } from '../csv/csv.parser';
import { mt940Parser, mt942Parser } from '../mt940/mt940.parser';

/**
 * Conformance of the MT940/MT942, BAI2 and CSV parsers against the third-party corpora in shared/corpora (read,
 * never copied). Every input file is parsed; the test checks what a file allows:
 * - MT940/MT942: opening balance + Σ entries = closing balance per statement; WoLpH `_derived-json` and mt940-rs
 *   JSON oracles for amounts, dates and references (RC/RD signs are checked against SWIFT, not against the oracles,
 *   whose reversal signs are wrong — see corpora README).
 * - BAI2: the parser validates every 49/98/99 trailer itself (a mismatch is a rejected record).
 * - CSV: csv2ofx OFX and deb-sig beancount oracles for the files a built-in profile covers.
 * A file that deviates must be in KNOWN_DEVIATIONS with the exact kinds of deviation and a reason; a listed
 * deviation that disappears fails the test too, so the list stays true. Must-fail inputs must fail.
 */

const CORPORA_DIR = process.env.RECON_CORPORA_DIR ?? resolve(__dirname, '../../../../../shared/corpora');
const corporaPresent = existsSync(join(CORPORA_DIR, 'mt940'));
if (!corporaPresent) console.warn(`text-formats conformance: corpora folder ${CORPORA_DIR} not found; skipping (set RECON_CORPORA_DIR)`);

type Deviation = 'unreadable' | 'rejected' | 'unbalanced' | 'oracle';

interface KnownDeviation {
  readonly kinds: readonly Deviation[];
  readonly reason: string;
}

const TAG_SNIPPET = 'single-tag unit snippet from the upstream test suite, no :20: statement: not an MT940 file on its own';
const DEM = "statements in Deutsche Mark: 'DEM' is no longer an ISO 4217 code, so balances and entries are rejected";

/** Keyed by path relative to the corpora folder. */
const KNOWN_DEVIATIONS: ReadonlyMap<string, KnownDeviation> = new Map<string, KnownDeviation>([
  // --- MT940: snippets and fragments that are not statements -------------------------------------------------
  ...[
    'account_balance_credit',
    'account_balance_debit',
    'account_identification_iban',
    'account_identification_legacy',
    'available_balance',
    'closing_balance',
    'statement_details',
    'statement_line',
    'statement_number',
  ].map((name) => [`mt940/WoLpH-mt940/cmxl/${name}.sta`, { kinds: ['unreadable'], reason: TAG_SNIPPET }] as const),
  ...['amount_formats', 'currency_in_25', 'empty_86', 'empty_entry_date', 'missing_crlf_at_end'].map(
    (name) => [`mt940/WoLpH-mt940/betterplace/${name}.sta`, { kinds: ['unreadable'], reason: TAG_SNIPPET }] as const,
  ),
  ['mt940/WoLpH-mt940/self-provided/empty_non_swift.sta', { kinds: ['unreadable'], reason: TAG_SNIPPET }],
  [
    'mt940/WoLpH-mt940/self-provided/sparkassen.sta',
    { kinds: ['unreadable'], reason: 'fragment starting at :61: with fields broken over lines (":" alone on a line); no :20: anywhere' },
  ],
  ['mt940/WoLpH-mt940/self-provided/invalid_statement.sta', { kinds: ['unreadable'], reason: 'upstream robustness case: no :20: statement start' }],
  ['mt940/svenstaro-mt940-rs/special-cases/invalid_statement.sta', { kinds: ['unreadable'], reason: 'upstream robustness case: no :20: statement start' }],
  ['mt940/sandermarechal-jejik-mt940/LICENCE.powercloud.txt', { kinds: ['unreadable'], reason: 'a licence text stored beside the samples, not a statement' }],
  ['mt942/svenstaro-mt940-rs/full/cmxl/mt942_1.sta', { kinds: ['unreadable'], reason: 'empty (0-byte) file upstream' }],
  [
    'mt940/WoLpH-mt940/cmxl/reference.sta',
    { kinds: ['rejected'], reason: 'single :20: snippet without :25:: the statement is rejected for its missing account' },
  ],
  ['mt940/WoLpH-mt940/betterplace/empty_line.sta', { kinds: ['rejected'], reason: 'only :20:, no :25: account: rejected as a statement without account' }],
  [
    'mt940/WoLpH-mt940/self-provided/account_identification.sta',
    { kinds: ['rejected'], reason: ':20:/:25: snippets without balances: no currency, so the statements are rejected' },
  ],
  ['mt940/svenstaro-mt940-rs/special-cases/unexpected_tag.sta', { kinds: ['rejected'], reason: 'upstream robustness case: statement without :25:' }],
  [
    'mt940/fruitl00p-php-mt940/Rabo/sample2',
    { kinds: ['rejected', 'unbalanced'], reason: 'second statement lacks :25: in the sample; the first one is trimmed and does not balance' },
  ],
  ['mt940/sandermarechal-jejik-mt940/lbbw2.txt', { kinds: ['rejected'], reason: "balance written with the letter O ('O0,00') instead of a zero: rejected" }],
  // --- MT940: Deutsche Mark ------------------------------------------------------------------------------------
  ['mt940/WoLpH-mt940/self-provided/raphaelm.sta', { kinds: ['rejected', 'oracle'], reason: DEM }],
  ['mt940/WoLpH-mt940/cmxl/mt940.sta', { kinds: ['rejected', 'oracle'], reason: DEM }],
  ['mt942/svenstaro-mt940-rs/full/mBank/mt942.sta', { kinds: ['rejected'], reason: DEM }],
  ['mt942/svenstaro-mt940-rs/special-cases/raphaelm.sta', { kinds: ['rejected'], reason: DEM }],
  // --- MT940: must-fail and strictness -------------------------------------------------------------------------
  [
    'mt940/WoLpH-mt940/jejik/knab.sta',
    {
      kinds: ['rejected', 'unbalanced', 'oracle'],
      reason: "amount '500' without the mandatory decimal comma: rejected (mt940-rs makes this very file its must-fail knab_broken.sta)",
    },
  ],
  [
    'mt940/sandermarechal-jejik-mt940/knab.txt',
    { kinds: ['rejected', 'unbalanced'], reason: "amount '500' without the mandatory decimal comma: rejected (same sample as knab_broken.sta)" },
  ],
  [
    'mt940/OCA-bank-statement-import/mt940_base/test-wrong-file.940',
    { kinds: [], reason: 'upstream must-fail only for its ING-dialect importer; it is a valid Rabobank MT940 that parses and balances here' },
  ],
]);

/** Inputs that must not parse cleanly: they must throw UnreadableStatementError or yield rejected records. */
const MUST_FAIL: ReadonlySet<string> = new Set([
  'mt940/svenstaro-mt940-rs/full/betterplace/sepa_snippet_broken.sta',
  'mt940/WoLpH-mt940/betterplace/sepa_snippet_broken.sta',
  'mt940/svenstaro-mt940-rs/full/jejik/knab_broken.sta',
  'bai2/moov-io-bai2/errors/sample-parseError.txt',
]);

interface Outcome {
  readonly path: string;
  readonly format: string;
  readonly origin: string;
  readonly deviations: Set<Deviation>;
  readonly notes: string[];
  /** Statements carrying both balances, and how many of them satisfy opening + Σ entries = closing. */
  statementsChecked?: number;
  statementsBalanced?: number;
}

function walk(dir: string, accept: (name: string) => boolean): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (!name.startsWith('_')) found.push(...walk(path, accept));
    } else if (accept(name)) found.push(path);
  }
  return found;
}

const isStatementInput = (name: string): boolean => !/\.(md|yml|json)$/i.test(name) && !/^LICEN[CS]E/.test(name);

/** UTF-8 when the bytes are valid UTF-8, else Latin-1 (the decoder proper is the other parser family's job). */
function decode(bytes: Buffer, encoding?: string): string {
  if (encoding !== undefined) return iconv.decode(bytes, encoding);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

async function parseFile(parser: TextFormatParser, text: string): Promise<CanonicalRecord[] | UnreadableStatementError> {
  try {
    return await collect(parser.parse(linesOf(text)));
  } catch (error) {
    if (error instanceof UnreadableStatementError) return error;
    throw error;
  }
}

const minorOf = (amount: string, currency: string): bigint => parseDecimalToMinor(amount, minorDigitsOf(currency), { allowTrailingZeros: true });

function unbalancedStatements(records: readonly CanonicalRecord[], counts: { checked: number } = { checked: 0 }): string[] {
  const problems: string[] = [];
  let current: StatementRecord | undefined;
  let sum = 0n;
  const check = (): void => {
    if (current?.openingBalance === undefined || current.closingBalance === undefined) return;
    counts.checked += 1;
    const expected = minorOf(current.closingBalance.amount, current.currency);
    const found = minorOf(current.openingBalance.amount, current.currency) + sum;
    if (expected !== found) problems.push(`${current.statementId}: opening + entries = ${found}, closing = ${expected} (minor units)`);
  };
  for (const record of records) {
    if (record.kind === 'statement') {
      check();
      current = record;
      sum = 0n;
    } else if (record.kind === 'entry') sum += minorOf(record.amount, record.currency);
  }
  check();
  return problems;
}

interface WolphTransaction {
  date?: string;
  entry_date?: string | null;
  status?: string;
  amount?: { amount: string; currency: string };
  bank_reference?: string | null;
  customer_reference?: string | null;
  end_to_end_reference?: string | null;
}

const absent = (value: string | null | undefined): string | undefined => {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed.length === 0 || trimmed === 'NONREF' || trimmed === 'NOTPROVIDED' ? undefined : trimmed;
};

function compareWithWolph(entries: readonly EntryRecord[], oraclePath: string): string[] {
  const oracle = JSON.parse(readFileSync(oraclePath, 'utf8')) as { transactions?: WolphTransaction[] };
  const expected = oracle.transactions ?? [];
  const problems: string[] = [];
  if (expected.length !== entries.length) problems.push(`WoLpH has ${expected.length} transactions, parsed ${entries.length}`);
  expected.slice(0, entries.length).forEach((transaction, index) => {
    const entry = entries[index];
    if (entry === undefined || transaction.amount === undefined) return;
    const oracleMinor = minorOf(transaction.amount.amount.replace(/^\+/, ''), entry.currency);
    const ours = minorOf(entry.amount, entry.currency);
    // WoLpH keeps the sign of the C/D letter for RC/RD; the money's direction is the opposite (SWIFT).
    const reversal = transaction.status === 'RC' || transaction.status === 'RD';
    const expectedMinor = reversal ? (transaction.status === 'RC' ? -absBig(oracleMinor) : absBig(oracleMinor)) : oracleMinor;
    const at = `transaction ${index + 1} (line ${entry.lineNo})`;
    if (expectedMinor !== ours) problems.push(`${at}: amount ${entry.amount}, WoLpH ${transaction.amount.amount} (${transaction.status})`);
    if (transaction.date !== undefined && transaction.date !== entry.valueDate)
      problems.push(`${at}: value date ${entry.valueDate}, WoLpH ${transaction.date}`);
    if (transaction.entry_date && transaction.entry_date !== entry.bookingDate)
      problems.push(`${at}: entry date ${entry.bookingDate}, WoLpH ${transaction.entry_date}`);
    if (absent(transaction.bank_reference) !== entry.bankRef) problems.push(`${at}: bank ref ${entry.bankRef}, WoLpH ${transaction.bank_reference}`);
    // WoLpH leaves customer_reference null for references with spaces (`TFNr 40005 MSGID`; mt940-rs reads them) and
    // runs it on into the supplementary line: compare its first line, when it has one.
    const customerRef = absent(transaction.customer_reference?.split('\n')[0]);
    if (transaction.customer_reference !== null && transaction.customer_reference !== undefined && customerRef !== entry.customerRef)
      problems.push(`${at}: customer ref ${entry.customerRef}, WoLpH ${transaction.customer_reference}`);
    const endToEnd = absent(transaction.end_to_end_reference);
    if (endToEnd !== undefined && endToEnd !== entry.endToEndId) problems.push(`${at}: end-to-end ${entry.endToEndId}, WoLpH ${endToEnd}`);
  });
  return problems;
}

interface RsLine {
  value_date: string;
  ext_debit_credit_indicator: string;
  amount: string;
  bank_ref?: string | null;
}
interface RsMessage {
  account_id: string;
  opening_balance: { debit_credit_indicator: string; amount: string; iso_currency_code: string };
  closing_balance: { debit_credit_indicator: string; amount: string };
  statement_lines: RsLine[];
}

function compareWithMt940Rs(records: readonly CanonicalRecord[], oraclePath: string): string[] {
  const messages = JSON.parse(readFileSync(oraclePath, 'utf8')) as RsMessage[];
  const statements = records.filter((record): record is StatementRecord => record.kind === 'statement');
  const problems: string[] = [];
  if (messages.length !== statements.length) problems.push(`mt940-rs has ${messages.length} messages, parsed ${statements.length} statements`);
  messages.slice(0, statements.length).forEach((message, index) => {
    const statement = statements[index];
    if (statement === undefined) return;
    const signed = (indicator: string, amount: string): bigint => (indicator === 'Debit' ? -1n : 1n) * minorOf(amount, statement.currency);
    if (message.account_id.trim() !== statement.account) problems.push(`statement ${index + 1}: account ${statement.account}, mt940-rs ${message.account_id}`);
    const opening = statement.openingBalance === undefined ? undefined : minorOf(statement.openingBalance.amount, statement.currency);
    if (opening !== signed(message.opening_balance.debit_credit_indicator, message.opening_balance.amount))
      problems.push(`statement ${index + 1}: opening ${statement.openingBalance?.amount}`);
    const closing = statement.closingBalance === undefined ? undefined : minorOf(statement.closingBalance.amount, statement.currency);
    if (closing !== signed(message.closing_balance.debit_credit_indicator, message.closing_balance.amount))
      problems.push(`statement ${index + 1}: closing ${statement.closingBalance?.amount}`);
    const entries = records.filter((record): record is EntryRecord => record.kind === 'entry' && record.statementId === statement.statementId);
    if (entries.length !== message.statement_lines.length)
      problems.push(`statement ${index + 1}: mt940-rs has ${message.statement_lines.length} lines, parsed ${entries.length}`);
    message.statement_lines.slice(0, entries.length).forEach((line, lineIndex) => {
      const entry = entries[lineIndex];
      if (entry === undefined) return;
      const ours = minorOf(entry.amount, entry.currency);
      // mt940-rs calls RC "ReverseDebit": only the magnitude is compared for reversals.
      const expected = line.ext_debit_credit_indicator === 'Debit' ? -minorOf(line.amount, entry.currency) : minorOf(line.amount, entry.currency);
      if (line.ext_debit_credit_indicator.startsWith('Reverse') ? absBig(ours) !== absBig(expected) : ours !== expected)
        problems.push(`line ${entry.lineNo}: amount ${entry.amount}, mt940-rs ${line.ext_debit_credit_indicator} ${line.amount}`);
      if (line.value_date !== entry.valueDate) problems.push(`line ${entry.lineNo}: value date ${entry.valueDate}, mt940-rs ${line.value_date}`);
      if (absent(line.bank_ref) !== entry.bankRef) problems.push(`line ${entry.lineNo}: bank ref ${entry.bankRef}, mt940-rs ${line.bank_ref}`);
    });
  });
  return problems;
}

function absBig(value: bigint): bigint {
  return value < 0n ? -value : value;
}

async function mt9xxOutcome(path: string, format: 'mt940' | 'mt942'): Promise<Outcome> {
  const rel = relative(CORPORA_DIR, path);
  const outcome: Outcome = { path: rel, format, origin: rel.split('/')[1] ?? '', deviations: new Set(), notes: [] };
  const result = await parseFile(format === 'mt940' ? mt940Parser : mt942Parser, decode(readFileSync(path)));
  if (result instanceof UnreadableStatementError) {
    outcome.deviations.add('unreadable');
    outcome.notes.push(result.message);
    return outcome;
  }
  const rejected = result.filter((record) => record.kind === 'rejected');
  if (rejected.length > 0) {
    outcome.deviations.add('rejected');
    outcome.notes.push(...rejected.map((record) => `line ${record.lineNo}: ${record.reason}`));
  }
  const counts = { checked: 0 };
  const unbalanced = unbalancedStatements(result, counts);
  outcome.statementsChecked = counts.checked;
  outcome.statementsBalanced = counts.checked - unbalanced.length;
  if (unbalanced.length > 0 && !TRIMMED_FIXTURES.has(rel)) {
    outcome.deviations.add('unbalanced');
    outcome.notes.push(...unbalanced);
  }
  const oracleProblems: string[] = [];
  const wolph = rel.match(/^mt94[02]\/WoLpH-mt940\/(.+)\.sta$/);
  if (wolph !== null) {
    const oraclePath = join(CORPORA_DIR, rel.split('/')[0] ?? '', 'WoLpH-mt940', '_derived-json', `${wolph[1]}.json`);
    if (existsSync(oraclePath))
      oracleProblems.push(
        ...compareWithWolph(
          result.filter((record): record is EntryRecord => record.kind === 'entry'),
          oraclePath,
        ),
      );
  }
  const rsOracle = path.replace(/\.sta$/, '.json');
  if (rel.startsWith('mt940/svenstaro-mt940-rs/full/') && existsSync(rsOracle)) oracleProblems.push(...compareWithMt940Rs(result, rsOracle));
  if (oracleProblems.length > 0) {
    outcome.deviations.add('oracle');
    outcome.notes.push(...oracleProblems);
  }
  return outcome;
}

/**
 * Fixtures whose balances are known not to add up (trimmed or anonymised upstream). The balance check is reported
 * for them in the table but does not fail the test; every other statement must balance.
 */
const TRIMMED_FIXTURES: ReadonlySet<string> = new Set([
  'mt940/fruitl00p-php-mt940/Hsbc/sample',
  'mt940/fruitl00p-php-mt940/Rabo/sample',
  'mt940/fruitl00p-php-mt940/Rabo/sample3',
  'mt940/fruitl00p-php-mt940/Rabo/sample4',
  'mt940/fruitl00p-php-mt940/Ing/sample',
  'mt940/fruitl00p-php-mt940/Triodos/sample',
  'mt940/fruitl00p-php-mt940/Abn/sample2',
  'mt940/fruitl00p-php-mt940/Btrl/sample',
  'mt940/fruitl00p-php-mt940/Knab/sample',
  'mt940/fruitl00p-php-mt940/Knab/sample3',
  'mt940/WoLpH-mt940/mBank/with_newline_in_tnr.sta',
  'mt940/WoLpH-mt940/self-provided/overly_long_details.sta',
  'mt940/WoLpH-mt940/self-provided/details_60-63.sta',
  'mt940/WoLpH-mt940/self-provided/whitespace.sta',
  'mt940/WoLpH-mt940/self-provided/malformed_details.sta',
  'mt940/WoLpH-mt940/self-provided/raiffeisen-cmi.sta',
  'mt940/WoLpH-mt940/self-provided/multiline.sta',
  'mt940/WoLpH-mt940/sberbank/171011_01234945.sta',
  'mt940/WoLpH-mt940/betterplace/sepa_snippet.sta',
  'mt940/WoLpH-mt940/jejik/abnamro.sta',
  'mt940/WoLpH-mt940/jejik/postfinance.sta',
  'mt940/WoLpH-mt940/jejik/triodos.sta',
  'mt940/WoLpH-mt940/jejik/rabobank.sta',
  'mt940/WoLpH-mt940/jejik/ing.sta',
  'mt940/sandermarechal-jejik-mt940/bug-core-5401.txt',
  'mt940/sandermarechal-jejik-mt940/bayerischelandesbank.txt',
  'mt940/sandermarechal-jejik-mt940/sparkasse2.txt',
  'mt940/sandermarechal-jejik-mt940/sparkasse3.txt',
  'mt940/sandermarechal-jejik-mt940/rabobank.txt',
  'mt940/sandermarechal-jejik-mt940/commerzbank.txt',
  'mt940/sandermarechal-jejik-mt940/triodos.txt',
  'mt940/sandermarechal-jejik-mt940/oldenburgischelandesbank.txt',
  'mt940/sandermarechal-jejik-mt940/oldenburgischelandesbankmitbindestrich.txt',
  'mt940/sandermarechal-jejik-mt940/ing-unix-3.txt',
  'mt940/sandermarechal-jejik-mt940/ing-unix-2.txt',
  'mt940/sandermarechal-jejik-mt940/ing-unix.txt',
  'mt940/sandermarechal-jejik-mt940/ing-dos.txt',
  'mt940/sandermarechal-jejik-mt940/solaris.txt',
  'mt940/sandermarechal-jejik-mt940/abnamro.txt',
  'mt940/sandermarechal-jejik-mt940/deutschebank.txt',
  'mt940/sandermarechal-jejik-mt940/postfinance.txt',
  'mt940/svenstaro-mt940-rs/full/bugs/issue-51.sta',
  'mt940/svenstaro-mt940-rs/full/mBank/with_newline_in_tnr.sta',
  'mt940/svenstaro-mt940-rs/full/sparkasse/buxtehude.sta',
  'mt940/svenstaro-mt940-rs/full/abnamro/mt940.sta',
  'mt940/svenstaro-mt940-rs/full/betterplace/sepa_snippet.sta',
  'mt940/svenstaro-mt940-rs/full/jejik/knab.sta',
  'mt940/svenstaro-mt940-rs/full/jejik/abnamro.sta',
  'mt940/svenstaro-mt940-rs/full/jejik/postfinance.sta',
  'mt940/svenstaro-mt940-rs/full/jejik/ing.sta',
  'mt940/svenstaro-mt940-rs/special-cases/overly_long_details.sta',
  'mt940/svenstaro-mt940-rs/special-cases/invalid_utf8.sta',
  'mt940/svenstaro-mt940-rs/special-cases/incomplete_tag_61.sta',
  'mt942/svenstaro-mt940-rs/full/jejik/triodos.sta',
  'mt942/svenstaro-mt940-rs/full/jejik/rabobank.sta',
]);

async function bai2Outcome(path: string): Promise<Outcome> {
  const rel = relative(CORPORA_DIR, path);
  const outcome: Outcome = { path: rel, format: 'bai2', origin: rel.split('/')[1] ?? '', deviations: new Set(), notes: [] };
  const result = await parseFile(bai2Parser, decode(readFileSync(path)));
  if (result instanceof UnreadableStatementError) {
    outcome.deviations.add('unreadable');
    outcome.notes.push(result.message);
    return outcome;
  }
  for (const record of result) {
    if (record.kind !== 'rejected') continue;
    outcome.deviations.add('rejected');
    outcome.notes.push(`line ${record.lineNo}: ${record.reason}`);
  }
  return outcome;
}

const BAI2_DEVIATIONS: readonly [string, KnownDeviation][] = [
  ['bai2/moov-io-bai2/v2-branch/example.txt', { kinds: ['rejected'], reason: 'spec example whose 49/98/99 totals and counts do not add up (corpora README)' }],
  [
    'bai2/moov-io-bai2/sample4-continuations-newline-delimited.txt',
    { kinds: ['rejected'], reason: 'GS sample with made-up trailer totals and counts (corpora README: only sample1/2/spec-section3 check out)' },
  ],
  ['bai2/moov-io-bai2/sample5-issue113.txt', { kinds: ['rejected'], reason: 'GS sample with made-up trailer totals and counts (corpora README)' }],
  [
    'bai2/moov-io-bai2/bai3-x9/x9-continuation-16.txt',
    { kinds: ['rejected'], reason: 'record counts omit the 88 continuations (README: 3 of 5 bai3-x9 files check out)' },
  ],
  [
    'bai2/moov-io-bai2/bai3-x9/x9-03-split-summary.txt',
    { kinds: ['rejected'], reason: 'the 49 control total leaves out part of the split 03 summary (README: 3 of 5 bai3-x9 files check out)' },
  ],
];

interface CsvCase {
  readonly path: string;
  readonly parser: () => TextFormatParser;
  readonly encoding?: string;
  /** Every (date, amount) of the oracle must be among the parsed entries (bookingDate or valueDate). */
  readonly oracle: () => { date: string; amount: string }[];
  readonly entriesExpected?: number;
}

function ofxTransactions(path: string): { date: string; amount: string }[] {
  const text = readFileSync(path, 'utf8');
  const found: { date: string; amount: string }[] = [];
  for (const block of text.split('<STMTTRN>').slice(1)) {
    const date = /<DTPOSTED>(\d{4})(\d{2})(\d{2})/.exec(block);
    const amount = /<TRNAMT>([-+]?[\d.]+)/.exec(block);
    if (date !== null && amount !== null) found.push({ date: `${date[1]}-${date[2]}-${date[3]}`, amount: amount[1] ?? '' });
  }
  return found;
}

function beancountCash(path: string, cashAccount: string): { date: string; amount: string }[] {
  const found: { date: string; amount: string }[] = [];
  let date = '';
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const header = /^(\d{4}-\d{2}-\d{2}) \*/.exec(line);
    if (header !== null) date = header[1] ?? '';
    const posting = new RegExp(`^\\s+${cashAccount.replace(/:/g, ':')}\\s+(-?[\\d.]+) CNY`).exec(line);
    if (posting !== null && date !== '') found.push({ date, amount: posting[1] ?? '' });
  }
  return found;
}

const CUSTOM_GB18030_PROFILE = `
name: actualbudget-gb18030
defaultEncoding: gb18030
headerRequired: [Date, Payee, Amount]
columns:
  date: Date
  amount: Amount
  counterpartyName: Payee
dateFormats: [yyyy-MM-dd]
currency: CNY
account: TEST-CNY
`;

const ALIPAY_PROFILE = `
name: alipay-export
defaultEncoding: gb18030
headerRequired: [交易时间, 金额, 收/支]
preambleLinesMax: 40
columns:
  date: 交易时间
  amount: 金额
  counterpartyName: 交易对方
  counterpartyAccount: 对方账号
  bankRef: 交易订单号
  remittance: [商品说明, 交易分类]
direction: { column: 收/支, creditValues: [收入], debitValues: [支出], skipValues: [不计收支] }
emptyAmountTokens: ['-', '/']
dateFormats: [yyyy-MM-dd]
currency: CNY
account: alipay
`;

const CSV_CASES: readonly CsvCase[] = [
  {
    path: 'csv/reubano-csv2ofx/test/gls.csv',
    parser: () => csvParserFor('de-bank'),
    encoding: 'cp1252',
    oracle: () => ofxTransactions(join(CORPORA_DIR, 'csv/reubano-csv2ofx/converted/gls.ofx')),
  },
  {
    path: 'csv/reubano-csv2ofx/test/sparkasse.csv',
    parser: () => csvParserFor('de-bank'),
    encoding: 'cp1252',
    oracle: () => ofxTransactions(join(CORPORA_DIR, 'csv/reubano-csv2ofx/converted/sparkasse.ofx')),
  },
  {
    path: 'csv/reubano-csv2ofx/test/capitalone.csv',
    parser: () => csvParserFor('us-debit-credit'),
    oracle: () => [
      { date: '2016-01-02', amount: '-1000.00' },
      { date: '2016-01-02', amount: '1000.00' },
    ],
  },
  ...[
    ['debit-v1', 'Assets:Bank:CN:ICBC'],
    ['debit-v2', 'Assets:Bank:CN:ICBC'],
    ['credit', 'Liabilities:Bank:CN:ICBC'],
  ].map(([variant, cashAccount]) => ({
    path: `csv/deb-sig-double-entry-generator/icbc/${variant}/example-icbc-${variant}-records.csv`,
    parser: () => csvParserFor('cn-gbk-bank'),
    oracle: () =>
      beancountCash(join(CORPORA_DIR, `csv/deb-sig-double-entry-generator/icbc/${variant}/example-icbc-${variant}-output.beancount`), cashAccount ?? ''),
  })),
  ...[
    ['cmb/debit/example-cmb-records.csv', 'cmb/debit/example-cmb-debit-output.beancount', 'Assets:DebitCard:CMB'],
    ['bocom_debit/example-bocom_debit-records.csv', 'bocom_debit/example-bocom_debit-output.beancount', 'Assets:DebitCard:BOCOM'],
    ['abc_debit/example-abc_debit-records.csv', 'abc_debit/example-abc_debit-output.beancount', 'Assets:ABC:DebitCard'],
  ].map(([records, beancount, cashAccount]) => ({
    path: `csv/deb-sig-double-entry-generator/${records}`,
    parser: () => csvParserFor('cn-gbk-bank'),
    oracle: () => beancountCash(join(CORPORA_DIR, `csv/deb-sig-double-entry-generator/${beancount}`), cashAccount ?? ''),
  })),
  {
    // Real GB18030 bytes with a 24-line preamble; 收/支 gives the direction and 不计收支 rows are not movements.
    path: 'csv/deb-sig-double-entry-generator/alipay/example-alipay-records.csv',
    parser: () => csvParserForProfile(loadCsvProfile(ALIPAY_PROFILE)),
    encoding: 'gb18030',
    oracle: () => [
      { date: '2023-01-18', amount: '222228.50' },
      { date: '2023-02-12', amount: '-49.74' },
      { date: '2023-07-10', amount: '-9.90' },
    ],
  },
  {
    path: 'csv/actualbudget-actual/data_gb18030.csv',
    parser: () => csvParserForProfile(loadCsvProfile(CUSTOM_GB18030_PROFILE)),
    encoding: 'gb18030',
    oracle: () => [
      { date: '2024-05-01', amount: '-35.00' },
      { date: '2024-05-02', amount: '55.50' },
      { date: '2024-05-03', amount: '95.75' },
    ],
  },
];

async function csvOutcome(testCase: CsvCase): Promise<Outcome & { entries: number; oracleTransactions: number }> {
  const outcome = {
    path: testCase.path,
    format: 'csv',
    origin: testCase.path.split('/')[1] ?? '',
    deviations: new Set<Deviation>(),
    notes: [] as string[],
    entries: 0,
    oracleTransactions: 0,
  };
  const result = await parseFile(testCase.parser(), decode(readFileSync(join(CORPORA_DIR, testCase.path)), testCase.encoding));
  if (result instanceof UnreadableStatementError) {
    outcome.deviations.add('unreadable');
    outcome.notes.push(result.message);
    return outcome;
  }
  const entries = result.filter((record): record is EntryRecord => record.kind === 'entry');
  outcome.entries = entries.length;
  for (const record of result) {
    if (record.kind !== 'rejected') continue;
    outcome.deviations.add('rejected');
    outcome.notes.push(`line ${record.lineNo}: ${record.reason}`);
  }
  const unmatched = [...entries];
  const oracle = testCase.oracle();
  outcome.oracleTransactions = oracle.length;
  for (const expected of oracle) {
    const index = unmatched.findIndex(
      (entry) =>
        (entry.bookingDate === expected.date || entry.valueDate === expected.date) &&
        minorOf(entry.amount, entry.currency) === minorOf(expected.amount, entry.currency),
    );
    if (index === -1) {
      outcome.deviations.add('oracle');
      outcome.notes.push(`oracle transaction ${expected.date} ${expected.amount} not found`);
    } else unmatched.splice(index, 1);
  }
  if (testCase.entriesExpected !== undefined && testCase.entriesExpected !== entries.length) {
    outcome.deviations.add('oracle');
    outcome.notes.push(`expected ${testCase.entriesExpected} entries, parsed ${entries.length}`);
  }
  return outcome;
}

const ALL_DEVIATIONS: ReadonlyMap<string, KnownDeviation> = new Map([...KNOWN_DEVIATIONS, ...BAI2_DEVIATIONS]);

function printTable(outcomes: readonly Outcome[]): void {
  const rows = new Map<string, { files: number; clean: number; allowed: number; failing: number; checked: number; balanced: number }>();
  for (const outcome of outcomes) {
    const key = `${outcome.format.padEnd(6)} ${outcome.origin}`;
    const row = rows.get(key) ?? { files: 0, clean: 0, allowed: 0, failing: 0, checked: 0, balanced: 0 };
    row.files += 1;
    row.checked += outcome.statementsChecked ?? 0;
    row.balanced += outcome.statementsBalanced ?? 0;
    const known = ALL_DEVIATIONS.get(outcome.path);
    if (outcome.deviations.size === 0 && (known === undefined || known.kinds.length === 0)) row.clean += 1;
    else if (known !== undefined && sameKinds(known.kinds, outcome.deviations)) row.allowed += 1;
    else if (MUST_FAIL.has(outcome.path) && (outcome.deviations.has('unreadable') || outcome.deviations.has('rejected'))) row.allowed += 1;
    else row.failing += 1;
    rows.set(key, row);
  }
  const lines = ['format origin                               files  clean  allowed-deviation  failing  balanced/checked statements'];
  for (const [key, row] of [...rows].sort()) {
    const balance = row.checked === 0 ? '-' : `${row.balanced}/${row.checked}`;
    lines.push(
      `${key.padEnd(44)} ${String(row.files).padStart(5)} ${String(row.clean).padStart(6)} ${String(row.allowed).padStart(18)} ${String(row.failing).padStart(8)}  ${balance.padStart(12)}`,
    );
  }
  console.log(`text-formats conformance (${CORPORA_DIR})\n${lines.join('\n')}`);
}

function sameKinds(expected: readonly Deviation[], found: ReadonlySet<Deviation>): boolean {
  return expected.length === found.size && expected.every((kind) => found.has(kind));
}

function expectOutcome(outcome: Outcome): void {
  const found = [...outcome.deviations].sort();
  if (MUST_FAIL.has(outcome.path)) {
    expect({ path: outcome.path, failed: outcome.deviations.has('unreadable') || outcome.deviations.has('rejected') }).toEqual({
      path: outcome.path,
      failed: true,
    });
    return;
  }
  const known = ALL_DEVIATIONS.get(outcome.path);
  const expected = [...(known?.kinds ?? [])].sort();
  // On failure the notes say what deviated; a stale allow-list entry fails as well.
  expect({ path: outcome.path, deviations: found, notes: found.join() === expected.join() ? [] : outcome.notes.slice(0, 8) }).toEqual({
    path: outcome.path,
    deviations: expected,
    notes: [],
  });
}

const describeWithCorpora = corporaPresent ? describe : describe.skip;

describeWithCorpora('text formats against the shared corpora', () => {
  const outcomes: Outcome[] = [];
  afterAll(() => printTable(outcomes));

  const mt940Files = corporaPresent ? walk(join(CORPORA_DIR, 'mt940'), isStatementInput) : [];
  const mt942Files = corporaPresent ? walk(join(CORPORA_DIR, 'mt942'), isStatementInput) : [];
  const bai2Files = corporaPresent ? walk(join(CORPORA_DIR, 'bai2'), isStatementInput) : [];

  it.each(mt940Files.map((path) => [relative(CORPORA_DIR, path), path]))('MT940 %s', async (_rel, path) => {
    const outcome = await mt9xxOutcome(path, 'mt940');
    outcomes.push(outcome);
    expectOutcome(outcome);
  });

  it.each(mt942Files.map((path) => [relative(CORPORA_DIR, path), path]))('MT942 %s', async (_rel, path) => {
    const outcome = await mt9xxOutcome(path, 'mt942');
    outcomes.push(outcome);
    expectOutcome(outcome);
  });

  it.each(bai2Files.map((path) => [relative(CORPORA_DIR, path), path]))('BAI2 %s', async (_rel, path) => {
    const outcome = await bai2Outcome(path);
    outcomes.push(outcome);
    expectOutcome(outcome);
  });

  it.each(CSV_CASES.map((testCase) => [testCase.path, testCase]))('CSV %s', async (_path, testCase) => {
    const outcome = await csvOutcome(testCase);
    outcomes.push(outcome);
    expectOutcome(outcome);
    expect(outcome.entries).toBeGreaterThan(0);
    expect(outcome.oracleTransactions).toBeGreaterThan(0);
  });

  it('allow-list entries name files that exist', () => {
    for (const path of [...ALL_DEVIATIONS.keys(), ...MUST_FAIL, ...TRIMMED_FIXTURES]) expect([path, existsSync(join(CORPORA_DIR, path))]).toEqual([path, true]);
  });
});
