import { defaultRuleSet } from '../rules/rule-set';
import { reconcile } from '../engine/reconcile';
import type { BankItem, LedgerItem } from '../model/items';
import type { ReconcileInputs } from '../model/inputs';
import { ACCOUNT, bankItem, ledgerItem } from '../testing/items.fixtures';
import { BREAK_CANDIDATES_MAX } from './break';
import { BreakClassifier } from './break-classifier';

function breaksOf(ledger: LedgerItem[], bank: BankItem[], extras: Omit<ReconcileInputs, 'ledger' | 'bank'> = {}) {
  return reconcile({ ledger, bank, ...extras }, defaultRuleSet()).breaks;
}

describe(BreakClassifier.name, () => {
  it('missing_in_bank: a ledger entry with no bank line, with its nearest bank candidates explained', () => {
    const breaks = breaksOf(
      [ledgerItem('L1', '100.00', { reference: 'PLAT-D-000001', valueDate: '2025-01-02' })],
      [bankItem('B1', '100.35', { endToEndId: 'OTHER-000001', valueDate: '2025-01-08' })],
    );

    const [missing] = breaks.filter((item) => item.type === 'missing_in_bank');
    expect(missing).toMatchObject({ category: 'data_sync', severity: 'high', currency: 'EUR', amount: '100.00', ledger: ['L1'], bank: [] });
    expect(missing!.reason).toBe('ledger credit of 100.00 EUR (L1, reference PLAT-D-000001, value date 2025-01-02) has no bank line');
    const candidate = missing!.candidates![0]!;
    expect(candidate.id).toBe('B1');
    expect(candidate.failed).toEqual([
      'reference PLAT-D-000001 not on bank line (bank references: OTHER-000001, B1)',
      'amount differs by 0.35 EUR (ledger 100.00 EUR, bank 100.35 EUR), tolerance 0.00 EUR',
      'value date 6 days apart (ledger 2025-01-02, bank 2025-01-08), tolerance 2',
    ]);
  });

  it('missing_in_ledger: a bank credit nobody booked', () => {
    const [item] = breaksOf([], [bankItem('B1', '250.00', { endToEndId: 'EXT-1' })]);

    expect(item).toMatchObject({ type: 'missing_in_ledger', category: 'data_sync', severity: 'medium', amount: '250.00', bank: ['B1'] });
    expect(item!.reason).toBe('bank credited 250.00 EUR (B1 with reference EXT-1) with no ledger entry behind it');
  });

  it('missing_in_ledger: ledger candidates found by truncated reference (also where the cut ends in a space) and by normalised reference', () => {
    const breaks = breaksOf(
      [
        // Two entries per reference key and other amounts than the bank lines: nothing pairs, not even as a break,
        // and each bank line is missing in the ledger with both entries as its best candidates.
        ledgerItem('L1', '11.00', { reference: 'ABCDEFGHIJKLMNO XYZ' }),
        ledgerItem('L1b', '11.00', { reference: 'ABCDEFGHIJKLMNO QQQ' }),
        ledgerItem('L2', '12.00', { reference: 'QRSTUVWXYZABCDEF-123' }),
        ledgerItem('L2b', '12.00', { reference: 'QRSTUVWXYZABCDEF-456' }),
        ledgerItem('L3', '13.00', { reference: 'plat-w-77' }),
        ledgerItem('L3b', '13.00', { reference: 'plat_w:77' }),
        // Entries nearer in amount (other dates): candidates too, but not found by reference.
        ...['49.98', '49.99', '50.01', '50.02', '50.99', '51.01', '51.02', '51.99', '52.01', '52.02'].map((amount, index) =>
          ledgerItem(`N${index}`, amount, { valueDate: '2025-01-20' }),
        ),
      ],
      [
        bankItem('B1', '50.00', { endToEndId: 'ABCDEFGHIJKLMNO' }),
        bankItem('B2', '51.00', { endToEndId: 'QRSTUVWXYZABCDEF' }),
        bankItem('B3', '52.00', { remittance: 'payout PLATW77 thanks' }),
      ],
    );

    const candidatesOf = (id: string) => breaks.find((item) => item.bank[0] === id)?.candidates?.map((candidate) => candidate.id);
    expect(candidatesOf('B1')).toEqual(expect.arrayContaining(['L1', 'L1b']));
    expect(candidatesOf('B2')).toEqual(expect.arrayContaining(['L2', 'L2b']));
    expect(candidatesOf('B3')).toEqual(expect.arrayContaining(['L3', 'L3b']));
  });

  it('missing_in_ledger, low: a debit the bank explains itself as charges', () => {
    const [item] = breaksOf([], [bankItem('B1', '-12.00', { bankTxCode: 'ACMT/MDOP/CHRG' })]);

    expect(item).toMatchObject({ type: 'missing_in_ledger', severity: 'low' });
    expect(item!.reason).toBe('bank debited 12.00 EUR (B1) as charges (code ACMT/MDOP/CHRG) with no ledger entry');
  });

  it('unauthorized_debit: money left with no instruction; critical from 10,000 in major units', () => {
    const breaks = breaksOf([], [bankItem('B1', '-1000.00'), bankItem('B2', '-10000.00')]);

    expect(breaks.map((item) => [item.type, item.category, item.severity])).toEqual([
      ['unauthorized_debit', 'misappropriation', 'high'],
      ['unauthorized_debit', 'misappropriation', 'critical'],
    ]);
    expect(breaks[0]!.reason).toBe('bank debited 1,000.00 EUR (B1) with no ledger instruction behind it');
  });

  it('amount_mismatch: paired by reference, the amount at stake is the difference', () => {
    const [item] = breaksOf([ledgerItem('L7', '100.00', { reference: 'PLAT-D-7' })], [bankItem('B9', '99.90', { endToEndId: 'PLAT-D-7' })]);

    expect(item).toMatchObject({
      type: 'amount_mismatch',
      category: 'data_sync',
      severity: 'high',
      currency: 'EUR',
      amount: '0.10',
      ledger: ['L7'],
      bank: ['B9'],
    });
    expect(item!.candidates![0]!.failed).toEqual(['amount differs by 0.10 EUR (ledger 100.00 EUR, bank 99.90 EUR), tolerance 0.00 EUR']);
  });

  it('amount_mismatch is medium when the bank holds more than the ledger expects', () => {
    const [item] = breaksOf([ledgerItem('L7', '100.00', { reference: 'PLAT-D-7' })], [bankItem('B9', '100.10', { endToEndId: 'PLAT-D-7' })]);

    expect(item).toMatchObject({ type: 'amount_mismatch', severity: 'medium', amount: '0.10' });
  });

  it('date_mismatch: paired by reference, value dates beyond tolerance', () => {
    const [item] = breaksOf(
      [ledgerItem('L1', '5.00', { reference: 'PLAT-D-1', valueDate: '2025-01-02' })],
      [bankItem('B1', '5.00', { endToEndId: 'PLAT-D-1', valueDate: '2025-01-08' })],
    );

    expect(item).toMatchObject({ type: 'date_mismatch', severity: 'low', amount: '5.00', ledger: ['L1'], bank: ['B1'] });
    expect(item!.reason).toContain('value dates 6 days apart (2025-01-02 and 2025-01-08), tolerance 2');
  });

  it('duplicate: the same movement twice on the bank side, the repeat is the break', () => {
    const breaks = breaksOf(
      [ledgerItem('L1', '-40.00', { reference: 'PLAT-W-1' })],
      [bankItem('B1', '-40.00', { endToEndId: 'PLAT-W-1' }), bankItem('B2', '-40.00', { endToEndId: 'PLAT-W-1' })],
    );

    expect(breaks).toHaveLength(1);
    expect(breaks[0]).toMatchObject({ type: 'duplicate', severity: 'high', amount: '40.00', ledger: [], bank: ['B2'], duplicateOf: ['B1'] });
  });

  it('duplicate: the same movement twice in the ledger', () => {
    const breaks = breaksOf(
      [ledgerItem('L1', '40.00', { reference: 'PLAT-D-1' }), ledgerItem('L2', '40.00', { reference: 'PLAT-D-1' })],
      [bankItem('B1', '40.00', { endToEndId: 'PLAT-D-1' })],
    );

    expect(breaks).toHaveLength(1);
    expect(breaks[0]).toMatchObject({ type: 'duplicate', ledger: ['L2'], bank: [], duplicateOf: ['L1'] });
  });

  it('currency_mismatch: same reference, different currency', () => {
    const [item] = breaksOf([ledgerItem('L1', '10.00', { reference: 'PLAT-D-1' })], [bankItem('B1', '10.00', { endToEndId: 'PLAT-D-1', currency: 'USD' })]);

    expect(item).toMatchObject({
      type: 'currency_mismatch',
      category: 'interface',
      severity: 'high',
      currency: 'EUR',
      amount: '10.00',
      ledger: ['L1'],
      bank: ['B1'],
    });
  });

  it('balance_mismatch: a shortfall against --balances is critical, a surplus medium, an equal balance no break', () => {
    const statements = [
      { statementId: 'S1', account: ACCOUNT, currency: 'EUR', to: '2025-01-02', closingBalance: { amountMinor: 97_770n, date: '2025-01-02' } },
    ];
    const shortfall = breaksOf([], [], { statements, balances: [{ account: ACCOUNT, currency: 'EUR', asOf: '2025-01-02', balanceMinor: 100_000n }] });
    const surplus = breaksOf([], [], { statements, balances: [{ account: ACCOUNT, currency: 'EUR', asOf: '2025-01-02', balanceMinor: 90_000n }] });
    const equal = breaksOf([], [], { statements, balances: [{ account: ACCOUNT, currency: 'EUR', asOf: '2025-01-02', balanceMinor: 97_770n }] });

    expect(shortfall).toEqual([
      expect.objectContaining({ type: 'balance_mismatch', category: 'misappropriation', severity: 'critical', amount: '22.30', statementId: 'S1' }),
    ]);
    expect(shortfall[0]!.reason).toBe(`bank holds 977.70 EUR on ${ACCOUNT} at end of 2025-01-02, 22.30 EUR less than the 1,000.00 EUR the ledger says is owed`);
    expect(surplus[0]).toMatchObject({ severity: 'medium', amount: '77.70' });
    expect(equal).toEqual([]);
  });

  it('balance_mismatch when the bank gave no closing balance for the day', () => {
    const breaks = breaksOf([], [], { balances: [{ account: ACCOUNT, currency: 'EUR', asOf: '2025-01-02', balanceMinor: 100n }] });

    expect(breaks[0]).toMatchObject({ type: 'balance_mismatch', severity: 'high' });
  });

  it('statement_gap: one break per continuity finding, with its message as the reason', () => {
    const breaks = breaksOf([], [], {
      findings: [
        { kind: 'sequence_gap', statementId: 'S3', account: ACCOUNT, currency: 'EUR', message: 'statement 3 follows statement 1: statement 2 is missing' },
      ],
    });

    expect(breaks).toEqual([
      expect.objectContaining({
        type: 'statement_gap',
        category: 'data_sync',
        severity: 'high',
        currency: 'EUR',
        amount: '0.00',
        findingKind: 'sequence_gap',
        statementId: 'S3',
      }),
    ]);
  });

  it('rejected_line: one break per line the parser could not read', () => {
    const breaks = breaksOf([], [], {
      rejected: [
        { source: 'day.sta', lineNo: 57, reason: "amount '12,3,0' is not a decimal number", raw: ':61:...', currency: 'EUR' },
        { source: 'day.sta', lineNo: 12, reason: 'unknown tag', raw: ':99:' },
      ],
    });

    expect(breaks.map((item) => [item.type, item.category, item.lineNo, item.currency, item.amount])).toEqual([
      ['rejected_line', 'interface', 12, 'XXX', '0'],
      ['rejected_line', 'interface', 57, 'EUR', '0.00'],
    ]);
  });

  it('lists at most the bounded number of candidates', () => {
    const bank = Array.from({ length: 8 }, (_, index) => bankItem(`B${index}`, `${100 + index}.00`, { endToEndId: `X-${index}` }));
    const missing = breaksOf([ledgerItem('L1', '104.50', { reference: 'PLAT-D-1' })], bank).find((item) => item.type === 'missing_in_bank');

    expect(missing!.candidates!.length).toBe(BREAK_CANDIDATES_MAX);
    expect(missing!.candidates!.map((candidate) => candidate.id)).toEqual(['B4', 'B5', 'B3']);
  });

  it('writes the CONTRACT fields first, in order', () => {
    const [item] = breaksOf([ledgerItem('L7', '100.00', { reference: 'PLAT-D-7' })], [bankItem('B9', '99.90', { endToEndId: 'PLAT-D-7' })]);

    expect(Object.keys(item!).slice(0, 8)).toEqual(['type', 'category', 'severity', 'currency', 'amount', 'ledger', 'bank', 'reason']);
  });
});
