import fc from 'fast-check';
import type { BankItem, LedgerItem } from '../model/items';
import { buildRuleSet, DEFAULT_RULE_FILE, type RuleSet } from '../rules/rule-set';
import { bankItem, ledgerItem } from '../testing/items.fixtures';
import { MatchingContext } from './matching-context';
import { runPairRule, type PairRuleSpec } from './pair-rule.runner';
import { refExactSpec, refInTextSpec, refTruncatedSpec } from './pair-rule.specs';

/**
 * The unique-reference shortcut must change nothing: with it and without it (the general mutual-unique-best
 * algorithm alone) every reference rule pairs the same items, under the same rule, and leaves the same
 * ambiguity notes. Small random days where references, amounts and dates collide often.
 */
const REFERENCES = ['PLAT-D-000001', 'PLAT-D-000002', 'PW00001234-ORDER-1-X', 'PW00001234-ORDER-2-X', 'BATCH-000001', 'plat-d-000003'];
const BANK_REFERENCES = ['PLAT-D-000001', 'PLAT-D-000002', 'PW00001234-ORDE', 'PW00001234-ORDER', 'NOTPROVIDED', 'PLATD000003', 'OTHER'];
const TEXTS = ['deposit plat d 000001', 'plat d 000002 thanks', 'ref PLAT-D-000003', 'PW00001234 ORDER 1 X', 'fee'];

const ledgerArbitrary = fc.uniqueArray(
  fc.record({
    id: fc.integer({ min: 0, max: 99 }),
    amount: fc.constantFrom('10.00', '-10.00', '10.03', '25.50'),
    reference: fc.option(fc.constantFrom(...REFERENCES), { nil: undefined }),
    day: fc.integer({ min: 1, max: 5 }),
  }),
  { selector: (item) => item.id, maxLength: 14 },
);
const bankArbitrary = fc.uniqueArray(
  fc.record({
    id: fc.integer({ min: 0, max: 99 }),
    amount: fc.constantFrom('10.00', '-10.00', '10.02', '25.50'),
    endToEndId: fc.option(fc.constantFrom(...BANK_REFERENCES), { nil: undefined }),
    customerRef: fc.option(fc.constantFrom(...BANK_REFERENCES), { nil: undefined }),
    remittance: fc.option(fc.constantFrom(...TEXTS), { nil: undefined }),
    day: fc.integer({ min: 1, max: 5 }),
    currency: fc.constantFrom('EUR', 'EUR', 'USD'),
  }),
  { selector: (item) => item.id, maxLength: 14 },
);

function toLedger(items: readonly { id: number; amount: string; reference: string | undefined; day: number }[]): LedgerItem[] {
  return items.map((item) =>
    ledgerItem(`L${item.id}`, item.amount, { valueDate: `2025-01-0${item.day}`, ...(item.reference === undefined ? {} : { reference: item.reference }) }),
  );
}

function toBank(
  items: readonly {
    id: number;
    amount: string;
    endToEndId: string | undefined;
    customerRef: string | undefined;
    remittance: string | undefined;
    day: number;
    currency: string;
  }[],
): BankItem[] {
  return items.map((item) =>
    bankItem(`B${item.id}`, item.amount, {
      valueDate: `2025-01-0${item.day}`,
      currency: item.currency,
      ...(item.endToEndId === undefined ? {} : { endToEndId: item.endToEndId }),
      ...(item.customerRef === undefined ? {} : { customerRef: item.customerRef }),
      ...(item.remittance === undefined ? {} : { remittance: item.remittance }),
    }),
  );
}

type SpecOf = (context: MatchingContext, ruleSet: RuleSet) => PairRuleSpec;

/** The rule chain's reference rules, run in order on one context; with `shortcut: false` the general algorithm alone. */
function runChain(ledger: LedgerItem[], bank: BankItem[], ruleSet: RuleSet, specs: readonly SpecOf[], shortcut: boolean): unknown {
  const context = new MatchingContext(ledger, bank, ruleSet);
  for (const specOf of specs) {
    const spec = specOf(context, ruleSet);
    runPairRule(context, shortcut ? spec : { ...spec, referenceKeys: undefined });
  }
  return {
    groups: context.groups.map((group) => ({ rule: group.rule, ledger: [...group.ledger], bank: [...group.bank] })).sort((a, b) => a.ledger[0]! - b.ledger[0]!),
    ledgerAmbiguity: [...context.ledgerAmbiguity].sort((a, b) => a[0] - b[0]),
    bankAmbiguity: [...context.bankAmbiguity].sort((a, b) => a[0] - b[0]),
  };
}

const exact: SpecOf = (context, ruleSet) => refExactSpec(context, ruleSet.rules.find((rule) => rule.type === 'ref-exact') as never);
const inText: SpecOf = (context, ruleSet) => refInTextSpec(context, ruleSet.rules.find((rule) => rule.type === 'ref-in-text') as never);
const truncated: SpecOf = (context, ruleSet) => refTruncatedSpec(context, ruleSet.rules.find((rule) => rule.type === 'ref-truncated') as never);

describe(runPairRule.name, () => {
  const ruleSets = [
    buildRuleSet(DEFAULT_RULE_FILE),
    buildRuleSet({
      version: 'tolerant',
      defaults: { amountToleranceMinor: 5, valueDateToleranceDays: 1 },
      rules: [{ type: 'ref-exact' }, { type: 'ref-in-text', referenceLengthMin: 6 }, { type: 'ref-truncated', truncatedLengths: [16, 15] }],
    }),
  ];

  it.each(ruleSets.map((ruleSet) => [ruleSet.version, ruleSet] as const))(
    'pairs exactly as the general algorithm alone, with the unique-reference shortcut (%s rules)',
    (_name, ruleSet) => {
      fc.assert(
        fc.property(ledgerArbitrary, bankArbitrary, (ledgerSpec, bankSpec) => {
          const ledger = toLedger(ledgerSpec);
          const bank = toBank(bankSpec);
          for (const specs of [[exact], [inText], [truncated], [exact, inText, truncated]]) {
            expect(runChain(ledger, bank, ruleSet, specs, true)).toEqual(runChain(ledger, bank, ruleSet, specs, false));
          }
        }),
        { numRuns: 400 },
      );
    },
  );

  it('pairs a reference unique on both sides at once, and leaves a shared one to the general pass', () => {
    const ruleSet = buildRuleSet(DEFAULT_RULE_FILE);
    const ledger = [
      ledgerItem('L1', '10.00', { reference: 'PLAT-D-000001' }),
      ledgerItem('L2', '10.00', { reference: 'PLAT-D-000002' }),
      ledgerItem('L3', '10.00', { reference: 'PLAT-D-000002' }),
    ];
    const bank = [bankItem('B1', '10.00', { endToEndId: 'PLAT-D-000001' }), bankItem('B2', '10.00', { endToEndId: 'PLAT-D-000002' })];
    const context = new MatchingContext(ledger, bank, ruleSet);

    runPairRule(context, exact(context, ruleSet));

    // L1/B1 by the shortcut (group 0); L2 and L3 are twins for B2, and the general algorithm pairs the first in id order.
    expect(context.groups).toEqual([
      { rule: 'ref-exact', ledger: [0], bank: [0] },
      { rule: 'ref-exact', ledger: [1], bank: [1] },
    ]);
    expect([...context.ledgerGroup]).toEqual([0, 1, -1]);
  });

  it('leaves to the general pass a bank line whose ref-in-text twins (same identity) carry other texts', () => {
    const ruleSet = buildRuleSet(DEFAULT_RULE_FILE);
    const ledger = [ledgerItem('L1', '10.00', { reference: 'PLAT-D-000001' }), ledgerItem('L2', '10.00', { reference: 'PLAT-D-000002' })];
    const bank = [
      bankItem('B1', '10.00', { endToEndId: 'OTHER', remittance: 'deposit plat d 000001' }),
      bankItem('B2', '10.00', { endToEndId: 'OTHER', remittance: 'plat d 000002 thanks' }),
    ];

    expect(runChain(ledger, bank, ruleSet, [inText], true)).toEqual(runChain(ledger, bank, ruleSet, [inText], false));
  });
  it('leaves to the general pass an entry that shares one of its truncated prefixes with another entry', () => {
    const ruleSet = buildRuleSet({ version: 'two-lengths', rules: [{ type: 'ref-truncated', truncatedLengths: [16, 15] }] });
    const ledger = [ledgerItem('L1', '10.00', { reference: 'PW00001234-ORDEA-1' }), ledgerItem('L2', '10.00', { reference: 'PW00001234-ORDEB-1' })];
    const bank = [bankItem('B1', '10.00', { endToEndId: 'PW00001234-ORDEA' }), bankItem('B2', '10.00', { endToEndId: 'PW00001234-ORDE' })];
    const withShortcut = runChain(ledger, bank, ruleSet, [truncated], true);

    expect(withShortcut).toEqual(runChain(ledger, bank, ruleSet, [truncated], false));
    // L1 fits B1 (16 characters) and B2 (15) equally well: ambiguous, not paired by chance.
    expect(withShortcut).toMatchObject({ groups: [] });
  });
});
