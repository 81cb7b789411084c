import type { RuleSet } from '@recon/matching';
import type { Clock } from '@recon/platform';
import type { SqlExecutor } from '@recon/persistence';
import { ignoredReferencesOf, valueDateToleranceDaysMax } from '../../items/domain/recon-items';
import { ruleSetOfStored } from '../domain/rule-set-version';
import type { ActivationRow, RuleSetsPgRepository } from '../infrastructure/rule-sets.pg.repository';

/** The rule set in force, with what continuous matching derives from it (computed once per rule set, not per batch). */
export interface ActiveRuleSet {
  readonly ruleSet: RuleSet;
  /** The activation that put it in force; undefined while the built-in rule set applies (nothing activated yet). */
  readonly activation: Pick<ActivationRow, 'activation_no' | 'activated_at' | 'activated_by'> | undefined;
  readonly ignoredReferences: ReadonlySet<string>;
  /** Value-date tolerance of the widest rule: the window of the amount candidate lookups. */
  readonly toleranceDays: number;
  /** Every rule compares amounts exactly: match locks can then be taken per amount instead of per account. */
  readonly exactAmounts: boolean;
}

/**
 * The service's active rule set: the latest activation's version, else the built-in rule set. Several instances
 * share the database, so an activation made through one is read by the others: `current` (continuous matching,
 * per batch) re-reads the latest activation at most every `recheckIntervalMs` (one indexed row, no rule set text;
 * the version's text only when it changed), `fresh` (runs, previews, activations) always reads it.
 */
export class ActiveRuleSetProvider {
  private cached: { readonly active: ActiveRuleSet; readonly checkedAtMs: number } | undefined;

  constructor(
    readonly builtIn: RuleSet,
    private readonly repository: RuleSetsPgRepository,
    private readonly clock: Clock,
    private readonly recheckIntervalMs: number,
  ) {}

  /** For the hot path: no query while the last read is younger than the recheck interval. */
  async current(executor: SqlExecutor): Promise<ActiveRuleSet> {
    const nowMs = this.clock.now().getTime();
    const cached = this.cached;
    // A clock that went backwards counts as stale.
    if (cached !== undefined && nowMs >= cached.checkedAtMs && nowMs - cached.checkedAtMs < this.recheckIntervalMs) return cached.active;
    return this.read(executor, nowMs);
  }

  /** Always reads the latest activation (one cheap query), and refreshes what `current` answers. */
  async fresh(executor: SqlExecutor): Promise<ActiveRuleSet> {
    return this.read(executor, this.clock.now().getTime());
  }

  /** After this instance activated a version: the next `current` reads it at once instead of after the interval. */
  invalidate(): void {
    this.cached = undefined;
  }

  private async read(executor: SqlExecutor, nowMs: number): Promise<ActiveRuleSet> {
    const latest = await this.repository.latestActivation(executor);
    const previous = this.cached?.active;
    let ruleSet: RuleSet;
    if (latest === undefined) ruleSet = this.builtIn;
    else if (previous !== undefined && previous.ruleSet.rulesHash === latest.rules_hash) ruleSet = previous.ruleSet;
    else {
      const stored = await this.repository.version(executor, latest.version);
      if (stored === undefined) throw new Error(`active rule set version '${latest.version}' is not stored`);
      ruleSet = ruleSetOfStored(stored.canonical_json, stored.rules_hash);
    }
    const activation =
      latest === undefined ? undefined : { activation_no: latest.activation_no, activated_at: latest.activated_at, activated_by: latest.activated_by };
    const active: ActiveRuleSet =
      previous !== undefined && previous.ruleSet === ruleSet && previous.activation?.activation_no === activation?.activation_no
        ? previous
        : activeRuleSetOf(ruleSet, activation);
    this.cached = { active, checkedAtMs: nowMs };
    return active;
  }
}

export function activeRuleSetOf(ruleSet: RuleSet, activation: ActiveRuleSet['activation']): ActiveRuleSet {
  return {
    ruleSet,
    activation,
    ignoredReferences: ignoredReferencesOf(ruleSet),
    toleranceDays: valueDateToleranceDaysMax(ruleSet),
    exactAmounts: ruleSet.rules.every((rule) => rule.amountToleranceMinor === 0n),
  };
}
