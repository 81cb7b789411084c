import { buildRuleSet, DEFAULT_RULE_FILE } from '../rules/rule-set';
import { bankItem, ledgerItem } from '../testing/items.fixtures';
import { previewRules } from './preview-rules';

describe(previewRules.name, () => {
  it('shows the matches a wider date tolerance gains, without writing anything', () => {
    const inputs = {
      ledger: [ledgerItem('L1', '10.00', { reference: 'PLAT-D-000001', valueDate: '2025-01-02' }), ledgerItem('L2', '20.00', { reference: 'PLAT-D-000002' })],
      bank: [bankItem('B1', '10.00', { endToEndId: 'PLAT-D-000001', valueDate: '2025-01-06' }), bankItem('B2', '20.00', { endToEndId: 'PLAT-D-000002' })],
    };
    const oldRules = buildRuleSet(DEFAULT_RULE_FILE);
    const newRules = buildRuleSet({ ...DEFAULT_RULE_FILE, version: 'wider-dates', defaults: { valueDateToleranceDays: 5 } });

    const sut = previewRules(oldRules, newRules, inputs);

    expect(sut.gained).toEqual([{ rule: 'ref-exact', ledger: ['L1'], bank: ['B1'] }]);
    expect(sut.lost).toEqual([]);
    expect(sut.breaksByTypeDelta.date_mismatch).toBe(-1);
    expect(sut.matchRate).toEqual({ old: 0.5, new: 1 });
    expect(sut.newRules.version).toBe('wider-dates');
  });

  it('reports matches lost and rules renamed', () => {
    const inputs = { ledger: [ledgerItem('L1', '-2.50')], bank: [bankItem('B1', '-2.50')] };
    const oldRules = buildRuleSet(DEFAULT_RULE_FILE);
    const renamed = buildRuleSet({ version: 'renamed', rules: [{ type: 'amount-date', id: 'fees' }] });
    const none = buildRuleSet({ version: 'refs-only', rules: [{ type: 'ref-exact' }] });

    expect(previewRules(oldRules, renamed, inputs).ruleChanged).toEqual([{ ledger: ['L1'], bank: ['B1'], oldRule: 'amount-date', newRule: 'fees' }]);
    expect(previewRules(oldRules, none, inputs).lost).toEqual([{ rule: 'amount-date', ledger: ['L1'], bank: ['B1'] }]);
  });
});
