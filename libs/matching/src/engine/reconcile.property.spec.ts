import fc from 'fast-check';
import { defaultRuleSet } from '../rules/rule-set';
import type { BankItem, LedgerItem } from '../model/items';
import { bankItem, ledgerItem } from '../testing/items.fixtures';
import { generateScenario } from '../testing/scenario.generator';
import { BankColumns, LedgerColumns } from '../model/columns';
import { matchOnly, type MatchOutput, reconcile, reconcileStaged, reconcileToSink } from './reconcile';

const ruleSet = defaultRuleSet();

interface LedgerSpec {
  readonly id: number;
  readonly amount: string;
  readonly reference: string | undefined;
  readonly batch: string | undefined;
  readonly day: number;
}
interface BankSpec {
  readonly id: number;
  readonly amount: string;
  readonly endToEndId: string | undefined;
  readonly customerRef: string | undefined;
  readonly remittance: string | undefined;
  readonly day: number;
  readonly currency: string;
}

/** Small random days where collisions are likely: few amounts, few references, few dates. */
const ledgerArbitrary: fc.Arbitrary<LedgerSpec[]> = fc.uniqueArray(
  fc.record({
    id: fc.integer({ min: 0, max: 999 }),
    amount: fc.constantFrom('10.00', '-10.00', '25.50', '-7.25', '100.00'),
    reference: fc.option(fc.constantFrom('PLAT-D-000001', 'PLAT-D-000002', 'PW00001234-ORDER-1-X', 'BATCH-000001'), { nil: undefined }),
    batch: fc.option(fc.constant('BATCH-000001'), { nil: undefined }),
    day: fc.integer({ min: 1, max: 6 }),
  }),
  { selector: (item) => item.id, maxLength: 25 },
);
const bankArbitrary: fc.Arbitrary<BankSpec[]> = fc.uniqueArray(
  fc.record({
    id: fc.integer({ min: 0, max: 999 }),
    amount: fc.constantFrom('10.00', '-10.00', '25.50', '-7.25', '100.00', '-35.00'),
    endToEndId: fc.option(fc.constantFrom('PLAT-D-000001', 'PLAT-D-000002', 'NOTPROVIDED', 'BATCH-000001'), { nil: undefined }),
    customerRef: fc.option(fc.constantFrom('PW00001234-ORDE', 'OTHER'), { nil: undefined }),
    remittance: fc.option(fc.constantFrom('deposit plat d 000001', 'fee'), { nil: undefined }),
    day: fc.integer({ min: 1, max: 6 }),
    currency: fc.constantFrom('EUR', 'EUR', 'EUR', 'USD'),
  }),
  { selector: (item) => item.id, maxLength: 25 },
);

function toLedger(items: LedgerSpec[]): LedgerItem[] {
  return items.map((item) =>
    ledgerItem(`L${item.id}`, item.amount, {
      valueDate: `2025-01-0${item.day}`,
      ...(item.reference === undefined ? {} : { reference: item.reference }),
      ...(item.batch === undefined ? {} : { batchReference: item.batch }),
    }),
  );
}

function toBank(items: BankSpec[]): BankItem[] {
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

function expectExclusive(ledger: readonly LedgerItem[], bank: readonly BankItem[], result: ReturnType<typeof reconcile>): void {
  const ledgerIds = [...result.matches.flatMap((match) => match.ledger), ...result.breaks.flatMap((item) => item.ledger)].sort();
  const bankIds = [...result.matches.flatMap((match) => match.bank), ...result.breaks.flatMap((item) => item.bank)].sort();
  expect(ledgerIds).toEqual(ledger.map((item) => item.entryId).sort());
  expect(bankIds).toEqual(bank.map((item) => item.id).sort());
}

describe(`${reconcile.name} properties`, () => {
  it('puts every ledger entry and every bank line in exactly one match or one break', () => {
    fc.assert(
      fc.property(ledgerArbitrary, bankArbitrary, (ledgerSpec, bankSpec) => {
        const ledger = toLedger(ledgerSpec);
        const bank = toBank(bankSpec);
        expectExclusive(ledger, bank, reconcile({ ledger, bank }, ruleSet));
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same result whatever the order of the inputs', () => {
    fc.assert(
      fc.property(ledgerArbitrary, bankArbitrary, fc.integer(), (ledgerSpec, bankSpec, seed) => {
        const ledger = toLedger(ledgerSpec);
        const bank = toBank(bankSpec);
        const expected = reconcile({ ledger, bank }, ruleSet);
        const shuffledLedger = shuffle(ledger, seed);
        const shuffledBank = shuffle(bank, seed + 1);
        const actual = reconcile({ ledger: shuffledLedger, bank: shuffledBank }, ruleSet);
        expect(actual.matches).toEqual(expected.matches);
        expect(actual.breaks).toEqual(expected.breaks);
        expect(actual.summary).toEqual(expected.summary);
      }),
      { numRuns: 200 },
    );
  });

  it('gives the same result for a shuffled generated day', () => {
    const scenario = generateScenario({ seed: 7, movements: 3_000, faultRate: 0.05 });
    const expected = reconcile({ ledger: scenario.ledger, bank: scenario.bank }, ruleSet);
    const actual = reconcile({ ledger: shuffle(scenario.ledger, 11), bank: shuffle(scenario.bank, 13) }, ruleSet);

    expect(actual.summary.run.resultHash).toBe(expected.summary.run.resultHash);
    expectExclusive(scenario.ledger, scenario.bank, actual);
  });
});

describe(`${reconcile.name} itemMatches`, () => {
  /** Per input item, the index of the match holding its id, -1 where none does: what itemMatches must say. */
  const expectedIndexes = (ids: readonly string[], sideOf: (match: MatchOutput) => readonly string[], matches: readonly MatchOutput[]): number[] => {
    const indexOf = new Map<string, number>();
    matches.forEach((match, index) => sideOf(match).forEach((id) => indexOf.set(id, index)));
    return ids.map((id) => indexOf.get(id) ?? -1);
  };
  const expectItemMatches = (ledger: readonly LedgerItem[], bank: readonly BankItem[], result: ReturnType<typeof reconcile>): void => {
    const ledgerIds = ledger.map((item) => item.entryId);
    const bankIds = bank.map((item) => item.id);
    expect([...result.itemMatches!.ledger]).toEqual(expectedIndexes(ledgerIds, (match) => match.ledger, result.matches));
    expect([...result.itemMatches!.bank]).toEqual(expectedIndexes(bankIds, (match) => match.bank, result.matches));
  };

  it('names, for every input item in the order given, the match it is in, or -1, sorted or shuffled input alike', () => {
    fc.assert(
      fc.property(ledgerArbitrary, bankArbitrary, fc.integer(), (ledgerSpec, bankSpec, seed) => {
        for (const [ledger, bank] of [
          [toLedger(ledgerSpec), toBank(bankSpec)],
          [shuffle(toLedger(ledgerSpec), seed), shuffle(toBank(bankSpec), seed + 1)],
        ] as const) {
          const result = reconcile({ ledger, bank }, ruleSet, { itemMatches: true });
          const plain = reconcile({ ledger, bank }, ruleSet);
          expect(result.matches).toEqual(plain.matches);
          expect(result.summary).toEqual(plain.summary);
          expectItemMatches(ledger, bank, result);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('covers a generated day with batches and faults: every matched item points at a match holding it', () => {
    const scenario = generateScenario({ seed: 5, movements: 2_000, faultRate: 0.05 });
    const ledger = shuffle(scenario.ledger, 3);
    const bank = shuffle(scenario.bank, 4);
    const result = reconcile({ ledger, bank }, ruleSet, { itemMatches: true });
    expect(result.matches.some((match) => match.ledger.length > 1 || match.bank.length > 1)).toBe(true);
    expectItemMatches(ledger, bank, result);
    expect(reconcile({ ledger, bank }, ruleSet).itemMatches).toBeUndefined();
  });
});

describe(`${reconcileStaged.name} properties`, () => {
  /** The staged run's result after `steps` steps (all of them when negative), then `finish()`. */
  const staged = (ledger: readonly LedgerItem[] | LedgerColumns, bank: readonly BankItem[] | BankColumns, steps: number) => {
    const run = reconcileStaged({ ledger, bank }, ruleSet);
    if (steps < 0) while (!run.step());
    else for (let step = 0; step < steps; step += 1) run.step();
    const result = run.finish();
    // Done: more steps change nothing, and finish() gives the same again.
    expect(run.step()).toBe(true);
    expect(run.finish()).toBe(result);
    return { matches: run.matches, itemMatches: run.itemMatches, ...result };
  };

  it('gives exactly what reconcile gives, matches and item indexes first, breaks and summary after, whatever steps were taken', () => {
    fc.assert(
      fc.property(ledgerArbitrary, bankArbitrary, fc.integer(), fc.integer({ min: -1, max: 5 }), (ledgerSpec, bankSpec, seed, steps) => {
        const ledger = shuffle(toLedger(ledgerSpec), seed);
        const bank = shuffle(toBank(bankSpec), seed + 1);
        const expected = reconcile({ ledger, bank }, ruleSet, { itemMatches: true });
        const actual = staged(ledger, bank, steps);
        expect(actual.matches).toEqual(expected.matches);
        expect([...actual.itemMatches.ledger]).toEqual([...expected.itemMatches!.ledger]);
        expect([...actual.itemMatches.bank]).toEqual([...expected.itemMatches!.bank]);
        expect(actual.breaks).toEqual(expected.breaks);
        expect(actual.summary).toEqual(expected.summary);
      }),
      { numRuns: 200 },
    );
  });

  it('covers a generated day with batches and faults, from columns, its result hash and input hashes included', () => {
    // More items a side than one step of the classification's passes over a side (16,384) or of the hashing (10,000).
    const scenario = generateScenario({ seed: 9, movements: 17_000, faultRate: 0.05 });
    const ledger = LedgerColumns.of(scenario.ledger);
    const bank = BankColumns.of(scenario.bank);
    const expected = reconcile({ ledger, bank }, ruleSet, { itemMatches: true });
    const actual = staged(ledger, bank, -1);
    expect(actual.summary).toEqual(expected.summary);
    expect(actual.breaks).toEqual(expected.breaks);
    expect(actual.matches).toEqual(expected.matches);
    expect(actual.breaks.length).toBeGreaterThan(10);
  });
});

function streamed(ledger: readonly LedgerItem[] | LedgerColumns, bank: readonly BankItem[] | BankColumns) {
  let matches = '';
  let breaks = '';
  const summary = reconcileToSink({ ledger, bank }, ruleSet, { matches: (block) => (matches += block), breaks: (block) => (breaks += block) });
  return { matches, breaks, summary };
}

describe(`${reconcileToSink.name} properties`, () => {
  it('streams exactly the lines reconcile returns, with the same summary, from items or from columns', () => {
    fc.assert(
      fc.property(ledgerArbitrary, bankArbitrary, fc.integer(), (ledgerSpec, bankSpec, seed) => {
        const ledger = toLedger(ledgerSpec);
        const bank = toBank(bankSpec);
        const expected = reconcile({ ledger, bank }, ruleSet);
        const lines = (items: readonly unknown[]): string => items.map((item) => `${JSON.stringify(item)}\n`).join('');
        for (const actual of [streamed(ledger, bank), streamed(LedgerColumns.of(shuffle(ledger, seed)), BankColumns.of(shuffle(bank, seed + 1)))]) {
          expect(actual.matches).toBe(lines(expected.matches));
          expect(actual.breaks).toBe(lines(expected.breaks));
          expect(actual.summary).toEqual(expected.summary);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('streams a generated day with injected faults as reconcile returns it', () => {
    const scenario = generateScenario({ seed: 5, movements: 2_000, faultRate: 0.05 });
    const expected = reconcile({ ledger: scenario.ledger, bank: scenario.bank }, ruleSet);
    const actual = streamed(LedgerColumns.of(scenario.ledger), BankColumns.of(scenario.bank));

    expect(actual.summary).toEqual(expected.summary);
    expect(actual.matches.split('\n').length - 1).toBe(expected.matches.length);
  });
});

describe(`${matchOnly.name} properties`, () => {
  it('finds exactly the match groups reconcile finds, in the same order', () => {
    fc.assert(
      fc.property(ledgerArbitrary, bankArbitrary, fc.integer(), (ledgerSpec, bankSpec, seed) => {
        const ledger = toLedger(ledgerSpec);
        const bank = toBank(bankSpec);
        const expected = reconcile({ ledger, bank }, ruleSet).matches;
        expect(matchOnly({ ledger, bank }, ruleSet)).toEqual(expected);
        expect(matchOnly({ ledger: shuffle(ledger, seed), bank: shuffle(bank, seed + 1) }, ruleSet)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('finds the match groups of a generated day with injected faults as reconcile does', () => {
    const scenario = generateScenario({ seed: 7, movements: 2_000, faultRate: 0.05 });
    const expected = reconcile({ ledger: scenario.ledger, bank: scenario.bank }, ruleSet).matches;

    expect(expected.length).toBeGreaterThan(1_000);
    expect(matchOnly({ ledger: scenario.ledger, bank: scenario.bank }, ruleSet)).toEqual(expected);
  });
});

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let index = out.length - 1; index > 0; index -= 1) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    const other = state % (index + 1);
    [out[index], out[other]] = [out[other]!, out[index]!];
  }
  return out;
}
