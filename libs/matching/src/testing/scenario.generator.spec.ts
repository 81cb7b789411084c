import { defaultRuleSet } from '../rules/rule-set';
import { reconcile } from '../engine/reconcile';
import { generateScenario, FAULT_KINDS } from './scenario.generator';

const RECALL_MIN = 0.999;
const PRECISION_MIN = 0.999;

describe(generateScenario.name, () => {
  it.each([1, 2])('finds the injected faults with recall and precision of at least 99.9%% (seed %i)', (seed) => {
    const scenario = generateScenario({ seed, movements: 12_000, faultRate: 0.03 });
    const result = reconcile({ ledger: scenario.ledger, bank: scenario.bank }, defaultRuleSet());
    const key = (item: { type: string; ledger: readonly string[]; bank: readonly string[] }): string =>
      `${item.type}|${[...item.ledger].sort().join(',')}|${[...item.bank].sort().join(',')}`;
    const reported = new Set(result.breaks.map(key));
    const expected = new Set(scenario.expected.map(key));
    const found = [...expected].filter((item) => reported.has(item));
    const correct = [...reported].filter((item) => expected.has(item));
    const recall = found.length / expected.size;
    const precision = correct.length / reported.size;
    if (recall < RECALL_MIN || precision < PRECISION_MIN) {
      const missed = [...expected].filter((item) => !reported.has(item)).slice(0, 5);
      const wrong = result.breaks.filter((item) => !expected.has(key(item))).slice(0, 5);
      throw new Error(`recall ${recall} precision ${precision}\nmissed: ${missed.join('\n')}\nwrong: ${JSON.stringify(wrong, null, 1)}`);
    }
    expect(expected.size).toBeGreaterThan(250);
    expect(new Set(scenario.expected.map((item) => item.fault)).size).toBe(FAULT_KINDS.length);
  });
});
