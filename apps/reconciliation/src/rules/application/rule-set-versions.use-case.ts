import { Inject, Injectable } from '@nestjs/common';
import { type Actor, effectiveRole } from '@recon/auth';
import type { Role } from '@recon/config';
import { previewRules, type RuleSet } from '@recon/matching';
import { AuditRecorder, CLOCK, type Clock, ID_GENERATOR, type IdGenerator, TRANSACTIONS } from '@recon/platform';
import type { SqlExecutor, TransactionRunner } from '@recon/persistence';
import { SERVICE_ACTOR } from '../../breaks/application/break-recorder';
import { engineBankItemOf, engineLedgerItemOf } from '../../items/domain/recon-items';
import {
  assertNotCreator,
  canonicalJsonOf,
  parseSubmittedRuleSet,
  previewView,
  RulesError,
  ruleSetOfStored,
  type RuleSetSourceFormat,
} from '../domain/rule-set-version';
import {
  PREVIEW_ITEMS_PER_SIDE_MAX,
  type RuleSetVersionRow,
  RuleSetsPgRepository,
  type StoredRuleSetVersionRow,
} from '../infrastructure/rule-sets.pg.repository';
import { type ActiveRuleSet, ActiveRuleSetProvider } from './active-rule-set';

/** A stored version (or the built-in rule set) as the API shows it. */
export interface RuleSetVersionView {
  readonly version: string;
  readonly rulesHash: string;
  /** `yaml`/`json` as submitted; `built-in` for the service's own default (stored only once someone activated it). */
  readonly sourceFormat: 'yaml' | 'json' | 'built-in';
  readonly createdAt: string | null;
  readonly createdBy: string | null;
  readonly builtIn: boolean;
  readonly active: boolean;
}

export interface ActiveView {
  readonly version: string;
  readonly rulesHash: string;
  readonly builtIn: boolean;
  readonly activatedAt: string | null;
  readonly activatedBy: string | null;
}

/**
 * Versioned rule sets: create (immutable, idempotent by content), preview against a stored day, activate under four
 * eyes. Every change writes its audit event in its transaction (`rules.create`, `rules.change`).
 */
@Injectable()
export class RuleSetVersionsUseCase {
  private readonly repository = new RuleSetsPgRepository();

  constructor(
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    private readonly audit: AuditRecorder,
    private readonly activeRules: ActiveRuleSetProvider,
  ) {}

  /**
   * Stores a new version. The same name with the same content (equal rulesHash, whatever the formatting) is
   * idempotent: nothing written, `created: false`. The same name with other content is refused (`RULES.VERSION_CONFLICT`).
   */
  async create(
    actor: Actor,
    allowed: readonly Role[],
    text: string,
    sourceFormat: RuleSetSourceFormat,
  ): Promise<{ created: boolean; version: RuleSetVersionView }> {
    const ruleSet = parseSubmittedRuleSet(text);
    const builtIn = this.activeRules.builtIn;
    if (ruleSet.version === builtIn.version && ruleSet.rulesHash !== builtIn.rulesHash) {
      throw new RulesError('RULES.VERSION_CONFLICT', `version '${ruleSet.version}' is the built-in rule set's name; give the rule set another version`);
    }
    return this.db.transaction(async (executor) => {
      const row: StoredRuleSetVersionRow = {
        version: ruleSet.version,
        canonical_json: canonicalJsonOf(ruleSet),
        rules_hash: ruleSet.rulesHash,
        source_format: sourceFormat,
        created_at: this.clock.now(),
        created_by: actor.id,
      };
      const created = await this.repository.insertVersion(executor, row);
      if (created) {
        await this.recordCreate(executor, actor, effectiveRole(actor, allowed), row, ruleSet);
        return { created, version: await this.viewOf(executor, row) };
      }
      const existing = await this.repository.version(executor, ruleSet.version);
      if (existing === undefined) throw new Error(`rule set version '${ruleSet.version}' conflicted on insert but is not stored`);
      if (existing.rules_hash !== ruleSet.rulesHash) {
        throw new RulesError(
          'RULES.VERSION_CONFLICT',
          `version '${ruleSet.version}' is already stored with other content (rulesHash ${existing.rules_hash}, this body ${ruleSet.rulesHash}); versions are immutable: give the new rule set another version`,
        );
      }
      return { created: false, version: await this.viewOf(executor, existing) };
    });
  }

  /**
   * Puts a stored version (or the built-in rule set, stored on first use) in force for the whole service. Refused to
   * its creator (four eyes). Activating the version already in force changes and records nothing.
   */
  async activate(actor: Actor, allowed: readonly Role[], version: string): Promise<{ changed: boolean; active: ActiveView }> {
    const result = await this.db.transaction(async (executor) => {
      await this.repository.lockActivations(executor);
      const before = await this.activeRules.fresh(executor);
      const beforeVersion = before.ruleSet.version;
      if (beforeVersion === version) return { changed: false, active: activeViewOf(before, this.activeRules.builtIn) };
      const target = (await this.repository.version(executor, version)) ?? (await this.storeBuiltIn(executor, version));
      assertNotCreator({ version: target.version, createdBy: target.created_by }, actor.id);
      const activatedAt = this.clock.now();
      await this.repository.insertActivation(executor, {
        activationId: this.ids.uuid(),
        version: target.version,
        versionCreatedBy: target.created_by,
        previousVersion: before.activation === undefined ? undefined : beforeVersion,
        activatedAt,
        activatedBy: actor.id,
      });
      await this.audit.record(executor, {
        actor,
        role: effectiveRole(actor, allowed),
        action: 'rules.change',
        entity: { type: 'rule_set', id: target.version },
        before: { version: beforeVersion, rulesHash: before.ruleSet.rulesHash },
        after: { version: target.version, rulesHash: target.rules_hash },
        details: {
          version: target.version,
          rulesHash: target.rules_hash,
          previousVersion: beforeVersion,
          previousRulesHash: before.ruleSet.rulesHash,
          createdBy: target.created_by,
        },
      });
      const active: ActiveView = {
        version: target.version,
        rulesHash: target.rules_hash,
        builtIn: target.rules_hash === this.activeRules.builtIn.rulesHash,
        activatedAt: activatedAt.toISOString(),
        activatedBy: actor.id,
      };
      return { changed: true, active };
    });
    // This instance matches with the new version from its next batch; the others within their recheck interval.
    if (result.changed) this.activeRules.invalidate();
    return result;
  }

  /**
   * Dry run: the active rule set and a version over every stored item of one account and day (`previewRules`): the
   * match groups it would gain and lose, the breaks per type of each. Read-only transaction; nothing is recorded.
   */
  async preview(version: string, bankAccount: string, businessDate: string) {
    return this.db.transaction(async (executor) => {
      await executor.query('SET TRANSACTION READ ONLY');
      const candidate = await this.ruleSetOf(executor, version);
      const active = await this.activeRules.fresh(executor);
      const items = await this.repository.itemsOfDay(executor, bankAccount, businessDate, PREVIEW_ITEMS_PER_SIDE_MAX + 1);
      if (items.ledger.length > PREVIEW_ITEMS_PER_SIDE_MAX || items.bank.length > PREVIEW_ITEMS_PER_SIDE_MAX) {
        throw new RulesError('RULES.PREVIEW_TOO_LARGE', `${bankAccount} has more than ${PREVIEW_ITEMS_PER_SIDE_MAX} items on one side on ${businessDate}`);
      }
      const preview = previewRules(active.ruleSet, candidate, { ledger: items.ledger.map(engineLedgerItemOf), bank: items.bank.map(engineBankItemOf) });
      return {
        custodyAccount: bankAccount,
        businessDate,
        ...previewView(preview, { ledgerItems: items.ledger.length, bankItems: items.bank.length }),
      };
    });
  }

  /** The active rule set and the stored versions, newest first (the built-in one listed too while it is not stored). */
  async list(limit: number): Promise<{ active: ActiveView; versions: RuleSetVersionView[] }> {
    return this.db.transaction(async (executor) => {
      const active = await this.activeRules.fresh(executor);
      const rows = await this.repository.versions(executor, limit);
      const versions = rows.map((row) => versionViewOf(row, active, this.activeRules.builtIn));
      if (!rows.some((row) => row.version === this.activeRules.builtIn.version)) versions.push(builtInViewOf(this.activeRules.builtIn, active));
      return { active: activeViewOf(active, this.activeRules.builtIn), versions };
    });
  }

  /** One version with its resolved rule set (canonical form: every default filled in). */
  async get(version: string): Promise<RuleSetVersionView & { ruleSet: unknown }> {
    return this.db.transaction(async (executor) => {
      const active = await this.activeRules.fresh(executor);
      const stored = await this.repository.version(executor, version);
      if (stored !== undefined) return { ...versionViewOf(stored, active, this.activeRules.builtIn), ruleSet: JSON.parse(stored.canonical_json) as unknown };
      const builtIn = this.activeRules.builtIn;
      if (version !== builtIn.version) throw new RulesError('RULES.NOT_FOUND', `no rule set version '${version}'`);
      return { ...builtInViewOf(builtIn, active), ruleSet: JSON.parse(canonicalJsonOf(builtIn)) as unknown };
    });
  }

  private async ruleSetOf(executor: SqlExecutor, version: string): Promise<RuleSet> {
    const stored = await this.repository.version(executor, version);
    if (stored !== undefined) return ruleSetOfStored(stored.canonical_json, stored.rules_hash);
    if (version === this.activeRules.builtIn.version) return this.activeRules.builtIn;
    throw new RulesError('RULES.NOT_FOUND', `no rule set version '${version}'`);
  }

  /** The built-in rule set becomes a stored version (created by the service) the first time someone activates it back. */
  private async storeBuiltIn(executor: SqlExecutor, version: string): Promise<StoredRuleSetVersionRow> {
    const builtIn = this.activeRules.builtIn;
    if (version !== builtIn.version) throw new RulesError('RULES.NOT_FOUND', `no rule set version '${version}'`);
    const row: StoredRuleSetVersionRow = {
      version: builtIn.version,
      canonical_json: canonicalJsonOf(builtIn),
      rules_hash: builtIn.rulesHash,
      source_format: 'built-in',
      created_at: this.clock.now(),
      created_by: SERVICE_ACTOR.id,
    };
    if (!(await this.repository.insertVersion(executor, row))) throw new Error(`built-in rule set version '${version}' appeared while activating it`);
    await this.recordCreate(executor, SERVICE_ACTOR, 'service', row, builtIn);
    return row;
  }

  private async recordCreate(executor: SqlExecutor, actor: Actor, role: Role | undefined, row: StoredRuleSetVersionRow, ruleSet: RuleSet): Promise<void> {
    await this.audit.record(executor, {
      actor,
      role,
      action: 'rules.create',
      entity: { type: 'rule_set', id: row.version },
      after: JSON.parse(row.canonical_json) as unknown,
      details: { version: row.version, rulesHash: row.rules_hash, sourceFormat: row.source_format, rules: ruleSet.rules.map((rule) => rule.id) },
    });
  }

  private async viewOf(executor: SqlExecutor, row: RuleSetVersionRow): Promise<RuleSetVersionView> {
    return versionViewOf(row, await this.activeRules.fresh(executor), this.activeRules.builtIn);
  }
}

function versionViewOf(row: RuleSetVersionRow, active: ActiveRuleSet, builtIn: RuleSet): RuleSetVersionView {
  return {
    version: row.version,
    rulesHash: row.rules_hash,
    sourceFormat: row.source_format,
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
    builtIn: row.rules_hash === builtIn.rulesHash,
    active: row.rules_hash === active.ruleSet.rulesHash,
  };
}

function builtInViewOf(builtIn: RuleSet, active: ActiveRuleSet): RuleSetVersionView {
  return {
    version: builtIn.version,
    rulesHash: builtIn.rulesHash,
    sourceFormat: 'built-in',
    createdAt: null,
    createdBy: null,
    builtIn: true,
    active: active.ruleSet.rulesHash === builtIn.rulesHash,
  };
}

function activeViewOf(active: ActiveRuleSet, builtIn: RuleSet): ActiveView {
  return {
    version: active.ruleSet.version,
    rulesHash: active.ruleSet.rulesHash,
    builtIn: active.ruleSet.rulesHash === builtIn.rulesHash,
    activatedAt: active.activation?.activated_at.toISOString() ?? null,
    activatedBy: active.activation?.activated_by ?? null,
  };
}
