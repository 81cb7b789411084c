import type { BreakType } from '../breaks/break';
import type { ReconcileInputs } from '../model/inputs';
import { compareText } from '../engine/matching-context';
import { reconcile, type MatchOutput, type ReconcileResult } from '../engine/reconcile';
import type { RuleSet } from '../rules/rule-set';

export interface RulesPreview {
  readonly oldRules: { readonly version: string; readonly rulesHash: string };
  readonly newRules: { readonly version: string; readonly rulesHash: string };
  /** Match groups the new rules make that the old ones did not (same items, whatever the rule name). */
  readonly gained: readonly MatchOutput[];
  /** Match groups the old rules made that the new ones do not. */
  readonly lost: readonly MatchOutput[];
  /** Same items matched, by a differently named rule. */
  readonly ruleChanged: readonly { readonly ledger: readonly string[]; readonly bank: readonly string[]; readonly oldRule: string; readonly newRule: string }[];
  readonly breaksByTypeDelta: Readonly<Record<BreakType, number>>;
  readonly matchRate: { readonly old: number; readonly new: number };
  readonly oldResult: ReconcileResult;
  readonly newResult: ReconcileResult;
}

/**
 * Dry run of a rule change against a past day's inputs: runs both rule sets on the same inputs and diffs
 * the match groups. Nothing is written; the caller decides whether to adopt the new rules.
 */
export function previewRules(oldRules: RuleSet, newRules: RuleSet, inputs: ReconcileInputs): RulesPreview {
  const oldResult = reconcile(inputs, oldRules);
  const newResult = reconcile(inputs, newRules);
  const key = (match: MatchOutput): string => `${match.ledger.join('\u0000')}\u0001${match.bank.join('\u0000')}`;
  const oldByKey = new Map(oldResult.matches.map((match) => [key(match), match]));
  const newByKey = new Map(newResult.matches.map((match) => [key(match), match]));
  const gained = newResult.matches.filter((match) => !oldByKey.has(key(match)));
  const lost = oldResult.matches.filter((match) => !newByKey.has(key(match)));
  const ruleChanged = newResult.matches
    .filter((match) => oldByKey.has(key(match)) && oldByKey.get(key(match))!.rule !== match.rule)
    .map((match) => ({ ledger: match.ledger, bank: match.bank, oldRule: oldByKey.get(key(match))!.rule, newRule: match.rule }));
  const breaksByTypeDelta = Object.fromEntries(
    (Object.keys(newResult.summary.breaksByType) as BreakType[])
      .sort(compareText)
      .map((type) => [type, newResult.summary.breaksByType[type] - oldResult.summary.breaksByType[type]]),
  ) as Record<BreakType, number>;
  return {
    oldRules: { version: oldRules.version, rulesHash: oldRules.rulesHash },
    newRules: { version: newRules.version, rulesHash: newRules.rulesHash },
    gained,
    lost,
    ruleChanged,
    breaksByTypeDelta,
    matchRate: { old: oldResult.summary.matchRate, new: newResult.summary.matchRate },
    oldResult,
    newResult,
  };
}
