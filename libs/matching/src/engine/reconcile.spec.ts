import { buildRuleSet, defaultRuleSet, DEFAULT_RULE_FILE, type RuleFile } from '../rules/rule-set';
import { bankItem, ledgerItem } from '../testing/items.fixtures';
import type { BankItem, LedgerItem } from '../model/items';
import { reconcile } from './reconcile';

function run(ledger: LedgerItem[], bank: BankItem[], rules: RuleFile = DEFAULT_RULE_FILE) {
  return reconcile({ ledger, bank }, buildRuleSet(rules));
}

function onlyRule(rule: RuleFile['rules'][number]): RuleFile {
  return { ...DEFAULT_RULE_FILE, rules: [rule] };
}

describe(reconcile.name, () => {
  describe('ref-exact', () => {
    it('pairs a reference equal to the end-to-end id, ignoring case', () => {
      const result = run([ledgerItem('L1', '-22.30', { reference: 'plat-w-000123' })], [bankItem('B1', '-22.30', { endToEndId: 'PLAT-W-000123' })]);

      expect(result.matches).toEqual([{ rule: 'ref-exact', ledger: ['L1'], bank: ['B1'] }]);
      expect(result.breaks).toEqual([]);
    });

    it('pairs on customerRef, and on bankRef when the bank carries no platform reference', () => {
      const result = run(
        [ledgerItem('L1', '10.00', { reference: 'CUST-1' }), ledgerItem('L2', '20.00', { reference: '2025010200017' })],
        [bankItem('B1', '10.00', { customerRef: 'CUST-1' }), bankItem('2025010200017', '20.00')],
        onlyRule({ type: 'ref-exact' }),
      );

      expect(result.matches.map((match) => match.bank)).toEqual([['B1'], ['2025010200017']]);
    });

    it('does not pair outside the date tolerance, and does with a wider per-rule tolerance', () => {
      const ledger = [ledgerItem('L1', '10.00', { reference: 'R-000001', valueDate: '2025-01-02' })];
      const bank = [bankItem('B1', '10.00', { endToEndId: 'R-000001', valueDate: '2025-01-05' })];

      expect(run(ledger, bank, onlyRule({ type: 'ref-exact' })).matches).toEqual([]);
      expect(run(ledger, bank, onlyRule({ type: 'ref-exact', valueDateToleranceDays: 3 })).matches).toHaveLength(1);
    });

    it('applies the per-rule amount tolerance in minor units', () => {
      const ledger = [ledgerItem('L1', '100.00', { reference: 'R-000001' })];
      const bank = [bankItem('B1', '99.95', { endToEndId: 'R-000001' })];

      expect(run(ledger, bank, onlyRule({ type: 'ref-exact' })).matches).toEqual([]);
      expect(run(ledger, bank, onlyRule({ type: 'ref-exact', amountToleranceMinor: 5 })).matches).toHaveLength(1);
    });

    it('ignores placeholder references such as NOTPROVIDED', () => {
      const result = run(
        [ledgerItem('L1', '10.00', { reference: 'NOTPROVIDED' })],
        [bankItem('B1', '10.00', { endToEndId: 'NOTPROVIDED' })],
        onlyRule({ type: 'ref-exact' }),
      );

      expect(result.matches).toEqual([]);
    });
  });

  describe('ref-in-text', () => {
    it('finds the normalised reference in the remittance text, whatever the spacing and punctuation', () => {
      const result = run(
        [ledgerItem('L1', '100.00', { reference: 'PLAT-D-000777' })],
        [bankItem('B1', '100.00', { endToEndId: 'NOTPROVIDED', remittance: 'Deposit plat d 000777, thank you' })],
      );

      expect(result.matches).toEqual([{ rule: 'ref-in-text', ledger: ['L1'], bank: ['B1'] }]);
    });

    it('does not take a short reference from unrelated text', () => {
      const result = run(
        [ledgerItem('L1', '100.00', { reference: '2025' })],
        [bankItem('B1', '100.00', { endToEndId: 'NOTPROVIDED', remittance: 'invoice 2025' })],
        onlyRule({ type: 'ref-in-text' }),
      );

      expect(result.matches).toEqual([]);
    });
  });

  describe('ref-truncated', () => {
    it('pairs a bank reference cut to 16 characters when amount and date agree', () => {
      const result = run(
        [ledgerItem('L1', '-75.00', { reference: 'PW00001234-ORDER-555-PAYOUT' })],
        [bankItem('B1', '-75.00', { customerRef: 'PW00001234-ORDE' + 'R' })],
      );

      expect(result.matches).toEqual([{ rule: 'ref-truncated', ledger: ['L1'], bank: ['B1'] }]);
    });

    it('reports two ledger entries behind the same truncated reference and amount as ambiguous, pairing neither', () => {
      const result = run(
        [ledgerItem('L1', '-75.00', { reference: 'PW00001234-ORDER-555-A' }), ledgerItem('L2', '-75.00', { reference: 'PW00001234-ORDER-555-B' })],
        [bankItem('B1', '-75.00', { customerRef: 'PW00001234-ORDER' })],
        onlyRule({ type: 'ref-truncated' }),
      );

      expect(result.matches).toEqual([]);
      const bankBreak = result.breaks.find((item) => item.bank.includes('B1'));
      expect(bankBreak?.ambiguous).toEqual({ rule: 'ref-truncated', candidates: ['L1', 'L2'] });
      expect(bankBreak?.type).toBe('missing_in_ledger');
      expect(bankBreak?.reason).toContain('does not choose by chance');
    });
  });

  describe('amount-date', () => {
    it('pairs unreferenced items by amount, currency and the nearest value date', () => {
      const result = run(
        [ledgerItem('L1', '-2.50', { valueDate: '2025-01-02' }), ledgerItem('L2', '-2.50', { valueDate: '2025-01-04' })],
        [bankItem('B1', '-2.50', { valueDate: '2025-01-04', bankTxCode: 'ACMT/MDOP/CHRG' })],
      );

      expect(result.matches).toEqual([{ rule: 'amount-date', ledger: ['L2'], bank: ['B1'] }]);
    });

    it('leaves two referenced items with different references to the reference rules', () => {
      const result = run([ledgerItem('L1', '10.00', { reference: 'AAA-000001' })], [bankItem('B1', '10.00', { endToEndId: 'BBB-000002' })]);

      expect(result.matches).toEqual([]);
    });

    it('reports equally near candidates with different dates as ambiguous instead of choosing', () => {
      const result = run(
        [ledgerItem('L1', '50.00', { valueDate: '2025-01-01' }), ledgerItem('L2', '50.00', { valueDate: '2025-01-03' })],
        [bankItem('B1', '50.00', { valueDate: '2025-01-02' })],
      );

      expect(result.matches).toEqual([]);
      expect(result.breaks.map((item) => item.type).sort()).toEqual(['missing_in_bank', 'missing_in_bank', 'missing_in_ledger']);
      expect(result.breaks.find((item) => item.bank[0] === 'B1')?.ambiguous?.candidates).toEqual(['L1', 'L2']);
    });

    it('pairs identical twins (same amount, date, no reference) one to one in stable order', () => {
      const result = run([ledgerItem('L2', '-1.50'), ledgerItem('L1', '-1.50')], [bankItem('B2', '-1.50'), bankItem('B1', '-1.50')]);

      expect(result.matches).toEqual([
        { rule: 'amount-date', ledger: ['L1'], bank: ['B1'] },
        { rule: 'amount-date', ledger: ['L2'], bank: ['B2'] },
      ]);
    });
  });

  describe('batch', () => {
    it('pairs one bank line with the ledger entries sharing its batch reference when the sums agree (1:n)', () => {
      const result = run(
        [
          ledgerItem('L1', '-10.00', { reference: 'P-1', batchReference: 'BATCH-0042' }),
          ledgerItem('L2', '-15.00', { reference: 'P-2', batchReference: 'BATCH-0042' }),
          ledgerItem('L3', '-5.00', { reference: 'P-3', batchReference: 'BATCH-0042' }),
        ],
        [bankItem('B1', '-30.00', { customerRef: 'BATCH-0042' })],
      );

      expect(result.matches).toEqual([{ rule: 'batch', ledger: ['L1', 'L2', 'L3'], bank: ['B1'] }]);
    });

    it('pairs a batch booking through its itemised transactions (1:n)', () => {
      const result = run(
        [ledgerItem('L1', '-10.00', { reference: 'PAY-000001' }), ledgerItem('L2', '-15.00', { reference: 'PAY-000002' })],
        [
          bankItem('B1', '-25.00', {
            transactions: [
              { amountMinor: -1000n, endToEndId: 'PAY-000001' },
              { amountMinor: -1500n, endToEndId: 'PAY-000002' },
            ],
          }),
        ],
      );

      expect(result.matches).toEqual([{ rule: 'batch', ledger: ['L1', 'L2'], bank: ['B1'] }]);
    });

    it('pairs several bank lines with one ledger entry by reference and sum (n:1)', () => {
      const result = run(
        [ledgerItem('L1', '-100.00', { reference: 'PLAT-W-000009' })],
        [bankItem('B1', '-60.00', { endToEndId: 'PLAT-W-000009' }), bankItem('B2', '-40.00', { endToEndId: 'PLAT-W-000009' })],
      );

      expect(result.matches).toEqual([{ rule: 'batch', ledger: ['L1'], bank: ['B1', 'B2'] }]);
    });

    it('reports a batch whose sum differs as one amount_mismatch over all its entries', () => {
      const result = run(
        [
          ledgerItem('L1', '-10.00', { reference: 'P-1', batchReference: 'BATCH-0042' }),
          ledgerItem('L2', '-15.00', { reference: 'P-2', batchReference: 'BATCH-0042' }),
        ],
        [bankItem('B1', '-25.35', { customerRef: 'BATCH-0042' })],
      );

      expect(result.breaks).toHaveLength(1);
      expect(result.breaks[0]).toMatchObject({ type: 'amount_mismatch', amount: '0.35', ledger: ['L1', 'L2'], bank: ['B1'], severity: 'high' });
    });
  });

  it('records the rule version, the rules hash and the input hashes in the run', () => {
    const result = run([ledgerItem('L1', '1.00')], [bankItem('B1', '1.00')]);

    expect(result.summary.run).toMatchObject({ rulesVersion: 'default-1', rulesHash: defaultRuleSet().rulesHash });
    expect(result.summary.run.ledgerHash).toMatch(/^[0-9a-f]{64}$/);
    expect(result.summary.run.bankHash).toMatch(/^[0-9a-f]{64}$/);
    expect(result.summary.matchRate).toBe(1);
    expect(result.summary.matchesByRule['amount-date']).toEqual({ groups: 1, ledgerEntries: 1, bankLines: 1 });
  });

  it('refuses an unknown currency and a repeated entry id', () => {
    expect(() => run([ledgerItem('L1', '1.00', { currency: 'EUX' })], [])).toThrow("ledger entry L1: 'EUX' is not an ISO 4217 currency code");
    expect(() => run([ledgerItem('L1', '1.00'), ledgerItem('L1', '2.00')], [])).toThrow("ledger entry_id 'L1' appears more than once");
  });
});
