import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { recon } from '../testing/run-recon';
import { registerReconcileCommand } from './reconcile.command';

const CAMT_FIXTURES = path.resolve(__dirname, '../../../../libs/statement-formats/test-fixtures/camt');
const ACCOUNT = 'DE89370400440532013000';
const HEADER = 'entry_id,account,amount,currency,value_date,reference,sub_account,booking_date,description,kind,batch_reference\n';

function statementLine(statementId: string, sequence: string, opening: string, closing: string): string {
  return JSON.stringify({
    kind: 'statement',
    format: 'camt.053',
    statementId,
    account: ACCOUNT,
    currency: 'EUR',
    sequence,
    from: '2025-01-02',
    to: '2025-01-02',
    openingBalance: { amount: opening, date: '2025-01-01' },
    closingBalance: { amount: closing, date: '2025-01-02' },
  });
}

function entryLine(statementId: string, lineNo: number, amount: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    kind: 'entry',
    statementId,
    lineNo,
    amount,
    currency: 'EUR',
    bookingDate: '2025-01-02',
    valueDate: '2025-01-02',
    reversal: false,
    ...fields,
  });
}

interface SummaryJson {
  readonly counts: Record<string, number>;
  readonly matchRate: number;
  readonly run: Record<string, string>;
  readonly inputs: { readonly ledger: { readonly sha256: string }; readonly rules?: { readonly sha256: string } };
  readonly totals: Record<string, Record<string, unknown>>;
  readonly breaksByType: Record<string, number>;
  readonly matchesByRule: Record<string, unknown>;
}

async function readSummary(out: string): Promise<SummaryJson> {
  return JSON.parse(await fs.readFile(path.join(out, 'summary.json'), 'utf8')) as SummaryJson;
}

async function readJsonLines(file: string): Promise<Record<string, unknown>[]> {
  const text = await fs.readFile(file, 'utf8');
  return text.length === 0
    ? []
    : text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe(registerReconcileCommand.name, () => {
  let dir: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'recon-reconcile-'));
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, text: string): Promise<string> {
    const file = path.join(dir, name);
    await fs.writeFile(file, text);
    return file;
  }

  it('reconciles a camt.053 against the ledger and the balance, and exits 0 when nothing breaks', async () => {
    const ledger = await write(
      'ledger.csv',
      `${HEADER}L1,${ACCOUNT},-22.30,EUR,2025-01-02,PLAT-W-000123,,,,withdrawal,\nL2,${ACCOUNT},100.00,EUR,2025-01-03,INSTR-9,,,,deposit,\n`,
    );
    const balances = await write('balances.csv', `account,currency,as_of,balance\n${ACCOUNT},EUR,2025-01-02,1077.70\n`);
    const out = path.join(dir, 'out');

    const run = await recon(
      'reconcile',
      '--ledger',
      ledger,
      '--bank',
      path.join(CAMT_FIXTURES, 'camt053-v08-contract-example.xml'),
      '--balances',
      balances,
      '--out',
      out,
    );

    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(await fs.readFile(path.join(out, 'matches.jsonl'), 'utf8')).toBe(
      '{"rule":"ref-exact","ledger":["L1"],"bank":["2025010200017"]}\n{"rule":"ref-exact","ledger":["L2"],"bank":["2025010200018"]}\n',
    );
    expect(await fs.readFile(path.join(out, 'breaks.jsonl'), 'utf8')).toBe('');
    const summary = await readSummary(out);
    expect(summary.counts).toMatchObject({ ledgerEntries: 2, bankLines: 2, matchGroups: 2, breaks: 0 });
    expect(summary.matchRate).toBe(1);
    expect(summary.run).toMatchObject({ engineVersion: 'matching-1', rulesVersion: 'default-1' });
    expect(summary.inputs.ledger.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(summary.totals.EUR).toMatchObject({ ledgerAmount: '77.70', bankAmount: '77.70', breaksAmount: '0.00' });
  });

  it('writes one break per problem from canonical JSONL bank input and exits 1', async () => {
    const ledger = await write(
      'ledger.csv',
      `${HEADER}L1,${ACCOUNT},100.00,EUR,2025-01-02,PLAT-D-000001,,,,,\nL7,${ACCOUNT},100.00,EUR,2025-01-02,PLAT-D-000007,,,,,\nL8,${ACCOUNT},5.00,EUR,2025-01-02,PLAT-D-000008,,,,,\n`,
    );
    const bank = await write(
      'bank.jsonl',
      [
        statementLine('S1', '1', '0.00', '99.90'),
        entryLine('S1', 1, '100.00', { bankRef: 'B1', endToEndId: 'PLAT-D-000001' }),
        entryLine('S1', 2, '99.90', { bankRef: 'B9', endToEndId: 'PLAT-D-000007' }),
        entryLine('S1', 3, '-100.00', { bankRef: 'B10' }),
        statementLine('S3', '3', '0.00', '0.00'),
        JSON.stringify({ kind: 'rejected', lineNo: 57, reason: "amount '12,3,0' is not a decimal number", raw: 'x' }),
      ].join('\n'),
    );
    const balances = await write('balances.csv', `account,currency,as_of,balance\n${ACCOUNT},EUR,2025-01-02,205.00\n`);
    const out = path.join(dir, 'out');

    const run = await recon('reconcile', '--ledger', ledger, '--bank', bank, '--balances', balances, '--out', out);

    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/3 ledger entries and 3 bank lines: 1 match groups, \d+ breaks/);
    const breaks = await readJsonLines(path.join(out, 'breaks.jsonl'));
    const types = breaks.map((item) => item.type);
    expect(types).toEqual(
      expect.arrayContaining(['missing_in_bank', 'unauthorized_debit', 'amount_mismatch', 'balance_mismatch', 'statement_gap', 'rejected_line']),
    );
    expect(breaks.find((item) => item.type === 'amount_mismatch')).toMatchObject({
      category: 'data_sync',
      severity: 'high',
      currency: 'EUR',
      amount: '0.10',
      ledger: ['L7'],
      bank: ['B9'],
    });
    expect(breaks.find((item) => item.type === 'unauthorized_debit')).toMatchObject({ severity: 'high', amount: '100.00', bank: ['B10'] });
    expect(breaks.find((item) => item.type === 'balance_mismatch')).toMatchObject({ severity: 'critical' });
    expect(breaks.find((item) => item.type === 'rejected_line')).toMatchObject({ lineNo: 57, source: bank });
    for (const item of breaks)
      expect(Object.keys(item).slice(0, 8)).toEqual(['type', 'category', 'severity', 'currency', 'amount', 'ledger', 'bank', 'reason']);
    const summary = await readSummary(out);
    expect(summary.breaksByType.amount_mismatch).toBe(1);
    expect(summary.matchesByRule['ref-exact']).toEqual({ groups: 1, ledgerEntries: 1, bankLines: 1 });
  });

  it("reports the parser's rejected lines as rejected_line breaks", async () => {
    const ledger = await write('ledger.csv', HEADER);
    const out = path.join(dir, 'out');

    const run = await recon('reconcile', '--ledger', ledger, '--bank', path.join(CAMT_FIXTURES, 'camt053-v04-excess-precision.xml'), '--out', out);

    expect(run.exitCode).toBe(1);
    const rejected = (await readJsonLines(path.join(out, 'breaks.jsonl'))).filter((item) => item.type === 'rejected_line');
    expect(rejected).toEqual([expect.objectContaining({ category: 'interface', lineNo: 3 })]);
  });

  it('applies a rule file and records its version and hash', async () => {
    const ledger = await write('ledger.csv', `${HEADER}L1,${ACCOUNT},10.00,EUR,2025-01-02,PLAT-D-000001,,,,,\n`);
    const bank = await write(
      'bank.jsonl',
      [statementLine('S1', '1', '0.00', '10.00'), entryLine('S1', 1, '10.00', { bankRef: 'B1', endToEndId: 'PLAT-D-000001', valueDate: '2025-01-06' })].join(
        '\n',
      ),
    );
    const rules = await write('rules.yaml', 'version: wide-dates\nrules:\n  - type: ref-exact\n    valueDateToleranceDays: 5\n');
    const out = path.join(dir, 'out');

    const run = await recon('reconcile', '--ledger', ledger, '--bank', bank, '--rules', rules, '--out', out);

    expect(run.exitCode).toBe(0);
    const summary = await readSummary(out);
    expect(summary.run.rulesVersion).toBe('wide-dates');
    expect(summary.inputs.rules?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    [
      'a bad ledger amount',
      `${HEADER}L1,${ACCOUNT},12.3.4,EUR,2025-01-02,,,,,,\n`,
      undefined,
      /^recon: .*ledger\.csv line 2, column amount: amount '12\.3\.4' is not a decimal number for EUR\n$/,
    ],
    ['a bad rule file', `${HEADER}`, 'version: v1\nrules:\n  - type: fuzzy\n', /^recon: .*rules\.yaml at rules\.0\.type: /],
  ])('exits 2 with a one-line error on %s', async (_, ledgerText, rulesText, message) => {
    const ledger = await write('ledger.csv', ledgerText);
    const bank = await write('bank.jsonl', statementLine('S1', '1', '0.00', '0.00'));
    const args = ['reconcile', '--ledger', ledger, '--bank', bank, '--out', path.join(dir, 'out')];
    if (rulesText !== undefined) args.push('--rules', await write('rules.yaml', rulesText));

    const run = await recon(...args);

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('exits 2 on a missing bank file and on an unreadable one', async () => {
    const ledger = await write('ledger.csv', HEADER);
    const missing = await recon('reconcile', '--ledger', ledger, '--bank', path.join(dir, 'nope.xml'), '--out', path.join(dir, 'out'));
    const truncated = await recon(
      'reconcile',
      '--ledger',
      ledger,
      '--bank',
      path.join(CAMT_FIXTURES, 'camt053-v08-truncated.xml'),
      '--out',
      path.join(dir, 'out'),
    );

    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^recon: cannot read .*nope\.xml: no such file\n$/);
    expect(truncated.exitCode).toBe(2);
    expect(truncated.stderr.split('\n')).toHaveLength(2);
  });
});
