import { MatchingContext } from '../engine/matching-context';
import { defaultRuleSet } from '../rules/rule-set';
import type { BankItem, LedgerItem } from '../model/items';
import { bankItem, ledgerItem } from '../testing/items.fixtures';
import { generateScenario } from '../testing/scenario.generator';
import { BreakExplainer, checkWeight } from './break-explainer';

describe(BreakExplainer.name, () => {
  it('weighs a pair from the columns exactly as its written checks weigh (every pair of two accounts, two currencies, both directions)', () => {
    const euro = generateScenario({ seed: 7, movements: 60, faultRate: 0.3, day: '2025-01-02' });
    const dollar = generateScenario({ seed: 8, movements: 40, faultRate: 0.3, account: 'GB29NWBK60161331926819', currency: 'USD', day: '2025-01-05' });
    const ledger: LedgerItem[] = [
      ...euro.ledger,
      ...dollar.ledger.map((item) => ({ ...item, entryId: `USD-${item.entryId}` })),
      ledgerItem('L-DEBIT', '-120.00', { reference: 'PAYOUT-77' }),
      ledgerItem('L-NO-REF', '120.00'),
    ];
    const bank: BankItem[] = [
      ...euro.bank,
      ...dollar.bank.map((item) => ({ ...item, id: `USD-${item.id}` })),
      bankItem('B-UNDATED', '120.00', { valueDate: undefined, endToEndId: 'PAYOUT-77' }),
      bankItem('B-TRUNCATED', '-120.00', { bankRef: 'PAYOUT-7', remittance: 'payout PAYOUT 77' }),
    ];
    const context = new MatchingContext(ledger, bank, defaultRuleSet());
    const explainer = new BreakExplainer(context, { amountToleranceMinor: 5n, valueDateToleranceDays: 2, truncatedLengths: [16, 35] }, () => undefined);

    const weights = new Set<number>();
    const differing: string[] = [];
    for (let ledgerIndex = 0; ledgerIndex < context.ledger.length; ledgerIndex += 1) {
      for (let bankIndex = 0; bankIndex < context.bank.length; bankIndex += 1) {
        const written = checkWeight(explainer.checkPair(ledgerIndex, bankIndex));
        weights.add(written);
        if (explainer.pairWeight(ledgerIndex, bankIndex) !== written)
          differing.push(
            `${context.ledger.entryId[ledgerIndex]} / ${context.bank.id[bankIndex]}: ${explainer.pairWeight(ledgerIndex, bankIndex)} vs ${written}`,
          );
      }
    }

    expect(differing).toEqual([]);
    // Not vacuous: agreeing pairs, one to three lesser criteria failing, the reference with others, another account (and
    // so currency), and combinations of them were all weighed.
    expect([...weights]).toEqual(expect.arrayContaining([0, 1, 2, 3, 6, 7, 11, 12, 16, 17]));
  });
});
