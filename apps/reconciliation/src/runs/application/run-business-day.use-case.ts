import { setImmediate } from 'node:timers/promises';
import { Inject, Injectable } from '@nestjs/common';
import type { Actor } from '@recon/auth';
import { RECON_RUN_COMPLETED_V1 } from '@recon/contracts';
import {
  dayNumberOf,
  isoDateOfDayNumber,
  type ItemMatches,
  type LedgerBalance,
  type LedgerColumns,
  normalisedReferenceKey,
  reconcileStaged,
  type ReconBreak,
  type ReconcilePhaseTimer,
  type RuleSet,
  type StatementBalance,
  type StagedReconcile,
  type StatementFinding,
} from '@recon/matching';
import { enqueueEvent } from '@recon/messaging';
import { Money } from '@recon/money';
import { AuditRecorder, CLOCK, type Clock, ID_GENERATOR, type IdGenerator, LOGGER, TRANSACTIONS } from '@recon/platform';
import type { Logger } from '@recon/observability';
import { queryRows, type SqlExecutor, type TransactionRunner } from '@recon/persistence';
import { BankLineWithdrawals } from '../../corrections/bank-line-withdrawals';
import { IntradayConfirmations } from '../../corrections/intraday-confirmations';
import { type BreakClosing, BreakRecorder, SERVICE_ACTOR } from '../../breaks/application/break-recorder';
import { ignoredReferencesOf, type LedgerItemRow, valueDateToleranceDaysMax } from '../../items/domain/recon-items';
import { claimOpenItemColumnsForRun, recordRunMatches, RUN_OPEN_ITEMS_MAX, type RunOpenItems } from '../../items/infrastructure/items.bulk';
import { ItemsPgRepository, lockRunOf } from '../../items/infrastructure/items.pg.repository';
import type { ReconciliationSettings } from '../../reconciliation.config';
import { ActiveRuleSetProvider } from '../../rules/application/active-rule-set';
import { statementFindings, type StoredStatement } from '../domain/statement-continuity';
import { GatewayHttpClient } from '../infrastructure/gateway.http.client';
import { GatewayCompletenessCheck } from './gateway-completeness';
import { LedgerBalanceRpcClient } from '../infrastructure/ledger-balance.rpc.client';
import { LedgerHttpClient } from '../infrastructure/ledger.http.client';
import { accountSettingsOf, RECONCILIATION_SETTINGS } from './account-settings';

export const LEDGER_HTTP_CLIENT = Symbol('LEDGER_HTTP_CLIENT');
export const LEDGER_BALANCE_CLIENT = Symbol('LEDGER_BALANCE_CLIENT');
export const GATEWAY_HTTP_CLIENT = Symbol('GATEWAY_HTTP_CLIENT');

export type RunTrigger = 'schedule' | 'api' | 'sweep';

export interface RunBusinessDayCommand {
  readonly bankAccount: string;
  readonly businessDate: string;
  readonly trigger: RunTrigger;
  readonly actor: Actor;
  /** The day's completeness and balance checks (nightly and API runs); the grace sweep only matches and ages. */
  readonly checks: boolean;
  /** Told when each phase of the run ends (checks, load, the engine's phases, write matches, write breaks, finish): `bench:nightly`'s clock. */
  readonly phases?: ReconcilePhaseTimer;
}

/** Takes a staged run's steps (about 10 ms each), letting the event loop (the COPY beside it) run between them. */
async function inSlices(staged: StagedReconcile): Promise<void> {
  while (!staged.step()) await setImmediate();
}

const ITEM_BREAK_TYPES = new Set([
  'missing_in_bank',
  'missing_in_ledger',
  'unauthorized_debit',
  'amount_mismatch',
  'date_mismatch',
  'duplicate',
  'currency_mismatch',
]);

/**
 * One business day of one custody account: completeness against the ledger's export, full matching over what is
 * still open, statement continuity, and the bank's closing balance against the ledger's required balance. Items
 * whose grace window has closed become breaks; re-running the same day finds the same breaks and opens none.
 */
@Injectable()
export class RunBusinessDayUseCase {
  private readonly items = new ItemsPgRepository();

  constructor(
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    private readonly activeRules: ActiveRuleSetProvider,
    @Inject(RECONCILIATION_SETTINGS) private readonly settings: ReconciliationSettings,
    @Inject(LEDGER_HTTP_CLIENT) private readonly ledgerHttp: LedgerHttpClient,
    @Inject(LEDGER_BALANCE_CLIENT) private readonly ledgerBalances: LedgerBalanceRpcClient,
    @Inject(GATEWAY_HTTP_CLIENT) private readonly gateway: GatewayHttpClient,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly breaks: BreakRecorder,
    private readonly audit: AuditRecorder,
    private readonly withdrawals: BankLineWithdrawals,
    private readonly intraday: IntradayConfirmations,
  ) {}

  async execute(command: RunBusinessDayCommand): Promise<string> {
    const runId = this.ids.uuid();
    const startedAt = this.clock.now();
    await this.db.transaction(async (executor) => {
      await executor.query(
        `INSERT INTO runs (run_id, bank_account, business_date, trigger, requested_by, status, started_at) VALUES ($1, $2, $3, $4, $5, 'running', $6)`,
        [runId, command.bankAccount, command.businessDate, command.trigger, command.actor.id, startedAt],
      );
      await this.audit.record(executor, {
        actor: command.actor,
        role: command.actor.roles.includes('ops') ? 'ops' : command.actor.roles[0],
        action: 'run.start',
        entity: { type: 'run', id: runId },
        details: { account: command.bankAccount, businessDate: command.businessDate, trigger: command.trigger },
      });
    });
    try {
      await this.run(runId, command, startedAt);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.error({ runId, error: message }, 'reconciliation run failed');
      await this.db.transaction(async (executor) => {
        await executor.query(`UPDATE runs SET status = 'failed', finished_at = $2, error = $3 WHERE run_id = $1`, [
          runId,
          this.clock.now(),
          message.slice(0, 2_000),
        ]);
        await this.audit.record(executor, {
          actor: command.actor,
          role: 'service',
          action: 'run.fail',
          entity: { type: 'run', id: runId },
          details: { error: message.slice(0, 500) },
        });
      });
    }
    return runId;
  }

  private async run(runId: string, command: RunBusinessDayCommand, startedAt: Date): Promise<void> {
    // The rule set active when the run starts, for the whole run (its run record names it): read, never cached.
    const ruleSet = (await this.db.transaction((executor) => this.activeRules.fresh(executor))).ruleSet;
    const warnings: string[] = [];
    let missingEvents = 0;
    let missingLines = 0;
    let balances: LedgerBalance[] = [];
    const phases = command.phases;
    if (command.checks) {
      // The day's stored bank line ids are gathered by Postgres (on a connection of their own) while this reads the
      // ledger's export; a failed read is the gateway check's to report.
      const storedLineIds = GatewayCompletenessCheck.storedIdsOfDay(this.db, this.items, command);
      storedLineIds.catch(() => undefined);
      missingEvents = await this.importMissingLedgerEntries(command, warnings, ruleSet);
      phases?.phase('checks: ledger export');
      // The gateway's record of the day against the bank items (gateway-completeness.ts).
      missingLines = await new GatewayCompletenessCheck(this.db, this.gateway, this.items, this.audit, this.clock, ruleSet).importMissingBankLines(
        command,
        warnings,
        storedLineIds,
      );
      phases?.phase('checks: gateway record');
      balances = await this.requiredBalances(command, warnings);
    }
    const checksDoneAt = this.clock.now();
    phases?.phase('checks');
    await this.db.transaction(async (executor) => {
      // One run per account at a time; continuous matching waits on the rows this run locks.
      await lockRunOf(executor, command.bankAccount);
      // Retractions that overtook their lines: withdrawn before anything is matched or opened (corrections/bank-line-withdrawals.ts).
      const retractionsApplied = await this.withdrawals.applyArrived(executor, command.bankAccount);
      // The same movement reported intraday and in the end-of-day statement: one copy withdrawn (corrections/intraday-confirmations.ts).
      const intradayConfirmed = await this.intraday.apply(executor, command.bankAccount, runId);
      const account = await accountSettingsOf(executor, command.bankAccount, this.settings);
      const businessDay = dayNumberOf(command.businessDate)!;
      const throughDate = isoDateOfDayNumber(businessDay + valueDateToleranceDaysMax(ruleSet));
      // Claimed for the run (their open rows deleted, or for a small claim locked, until it records its matches) and
      // streamed out of Postgres into the engine's columns (COPY).
      const open = await claimOpenItemColumnsForRun(executor, command.bankAccount, throughDate);
      if (open.ledger.length >= RUN_OPEN_ITEMS_MAX || open.bank.length >= RUN_OPEN_ITEMS_MAX)
        warnings.push(
          `more than ${RUN_OPEN_ITEMS_MAX} open items on a side: this run took the first ${RUN_OPEN_ITEMS_MAX} by id, the rest waits for the next run`,
        );
      const { statements, findings } = command.checks ? await this.statementsOfDay(executor, command) : { statements: [], findings: [] };
      phases?.phase('load');
      // The rule chain first: its matches are stored, and while Postgres stores the item pairs this thread does the
      // rest a slice at a time instead of waiting (the inputs hashed for the run record, what is left classified).
      const staged = reconcileStaged({ ledger: open.ledger, bank: open.bank, statements, balances, findings }, ruleSet, {
        ...(phases === undefined ? {} : { timer: { phase: (name: string) => phases.phase(`match: ${name}`) } }),
      });
      const matched = await this.recordMatches(executor, open, staged.matches, staged.itemMatches, runId, phases, () => inSlices(staged));
      phases?.phase('write matches');
      const result = { matches: staged.matches, ...staged.finish() };
      const itemBreaks = result.breaks.filter((found) => ITEM_BREAK_TYPES.has(found.type));
      const dateOf = itemDatesOf(open, itemBreaks);
      const foundByType: Record<string, number> = {};
      const openedByType: Record<string, number> = {};
      let pendingBreaks = 0;
      const toOpen = result.breaks.filter((found) => {
        if (ITEM_BREAK_TYPES.has(found.type)) {
          const latestDay = Math.max(
            ...found.ledger.map((id) => dateOf.get(`L:${id}`) ?? businessDay),
            ...found.bank.map((id) => dateOf.get(`B:${id}`) ?? businessDay),
          );
          // Still inside its grace window: the partner may yet arrive; it stays pending.
          if (latestDay + account.graceDays > businessDay) {
            pendingBreaks += 1;
            return false;
          }
        }
        foundByType[found.type] = (foundByType[found.type] ?? 0) + 1;
        return true;
      });
      const breakIds = await this.breaks.openAll(executor, toOpen, { bankAccount: command.bankAccount, businessDate: command.businessDate, runId });
      toOpen.forEach((found, index) => {
        if (breakIds[index] !== undefined) openedByType[found.type] = (openedByType[found.type] ?? 0) + 1;
      });
      phases?.phase('write breaks');
      const autoMatchRate = await this.autoMatchRate(executor, command.bankAccount, command.businessDate);
      const finishedAt = this.clock.now();
      const breaksOpened = Object.values(openedByType).reduce((sum, count) => sum + count, 0);
      const status = warnings.length > 0 ? 'completed_with_warnings' : 'completed';
      const runResult = {
        counts: {
          openLedgerItems: open.ledger.length,
          openBankItems: open.bank.length,
          missingEvents,
          missingBankLineEvents: missingLines,
          retractionsApplied,
          intradayConfirmed,
          matchGroups: result.matches.length,
          matchesByRule: result.summary.matchesByRule,
          breaksFoundByType: foundByType,
          breaksOpenedByType: openedByType,
          breaksOpened,
          breaksClosedByLatePartner: matched.breaksClosed,
          pendingItemsInGrace: pendingBreaks,
          statementFindings: findings.length,
          balanceChecks: balances.length,
        },
        autoMatchRate,
        graceDays: account.graceDays,
        run: result.summary.run,
        warnings,
        timingsMs: {
          checks: checksDoneAt.getTime() - startedAt.getTime(),
          matching: finishedAt.getTime() - checksDoneAt.getTime(),
          total: finishedAt.getTime() - startedAt.getTime(),
        },
      };
      await executor.query(`UPDATE runs SET status = $2, finished_at = $3, result = $4::jsonb WHERE run_id = $1`, [
        runId,
        status,
        finishedAt,
        JSON.stringify(runResult),
      ]);
      await enqueueEvent(executor, {
        messageId: this.ids.uuid(),
        subject: RECON_RUN_COMPLETED_V1.subject,
        schemaVersion: RECON_RUN_COMPLETED_V1.schemaVersion,
        payload: {
          runId,
          account: command.bankAccount,
          businessDate: command.businessDate,
          status,
          finishedAt: finishedAt.toISOString(),
          matchGroups: result.matches.length,
          breaksOpened,
          autoMatchRate,
          rulesHash: result.summary.run.rulesHash,
          resultHash: result.summary.run.resultHash,
        },
      });
      await this.audit.record(executor, {
        actor: command.actor,
        role: 'service',
        action: 'run.complete',
        entity: { type: 'run', id: runId },
        details: {
          account: command.bankAccount,
          businessDate: command.businessDate,
          status,
          matchGroups: result.matches.length,
          breaksOpened,
          resultHash: result.summary.run.resultHash,
        },
      });
      phases?.phase('finish');
    });
  }

  /**
   * Records the run's match groups set-wise (COPY and one insert per side; the claimed items left unmatched open again) and closes the breaks their items were in
   * (a late partner), as continuous matching records its matches.
   */
  private async recordMatches(
    executor: SqlExecutor,
    open: RunOpenItems,
    matches: readonly { rule: string; ledger: readonly string[]; bank: readonly string[] }[],
    itemMatches: ItemMatches,
    runId: string,
    phases: ReconcilePhaseTimer | undefined,
    alongsidePairs: () => Promise<void>,
  ): Promise<{ matchGroups: number; breaksClosed: number }> {
    const matchIds = matches.map(() => this.ids.uuid());
    const breaksOf = await recordRunMatches(executor, open, matches, itemMatches, matchIds, { runId, matchedAt: this.clock.now() }, phases, alongsidePairs);
    // The breaks their items were in, closed in match order with one statement (a break named twice by the first).
    const closings: (BreakClosing & { breakId: string })[] = [];
    if (breaksOf.size > 0) {
      for (const [index, match] of matches.entries()) {
        for (const breakId of breaksOf.get(matchIds[index]!.toLowerCase()) ?? []) {
          closings.push({
            breakId,
            status: 'closed',
            resolutionCode: 'late_partner',
            note: `late partner: ledger ${match.ledger.join(', ')} and bank ${match.bank.join(', ')} matched by rule ${match.rule}`,
            actor: SERVICE_ACTOR,
            matchId: matchIds[index]!,
          });
        }
      }
    }
    const breaksClosed = closings.length === 0 ? 0 : (await this.breaks.closeAll(executor, closings)).filter(Boolean).length;
    return { matchGroups: matches.length, breaksClosed };
  }

  /** Entries the ledger exported for the day that never arrived as events: stored now, noted, never lost. */
  private async importMissingLedgerEntries(command: RunBusinessDayCommand, warnings: string[], ruleSet: RuleSet): Promise<number> {
    // The day's stored entries in one index range, read first: the export's rows among them are left out as they
    // are read (only their ids are), and the few others are looked up by id (stored under another account or
    // date); only what is still unknown is missing.
    const ofDay = await this.db.transaction((executor) =>
      this.items.ledgerEntryIdsOfDays(executor, command.bankAccount, command.businessDate, command.businessDate),
    );
    let unknown: LedgerColumns;
    try {
      unknown = await this.ledgerHttp.exportedEntries(command.businessDate, command.businessDate, command.bankAccount, (entryId) => ofDay.has(entryId));
    } catch (error) {
      warnings.push(`ledger completeness not checked: ${error instanceof Error ? error.message : String(error)}`);
      return 0;
    }
    const ignored = ignoredReferencesOf(ruleSet);
    return this.db.transaction(async (executor) => {
      // Stored meanwhile, or under another account or date: known.
      const known = await this.items.existingLedgerEntryIds(executor, unknown.entryId);
      const missing: LedgerItemRow[] = Array.from({ length: unknown.length }, (_, index) => unknown.item(index))
        .filter((item) => !known.has(item.entryId))
        .map((item) => ({
          entryId: item.entryId,
          bankAccount: item.account,
          currency: item.currency,
          amountMinor: item.amountMinor,
          valueDate: item.valueDate,
          reference: item.reference,
          refKey: normalisedReferenceKey(item.reference, ignored),
          batchReference: item.batchReference,
          batchRefKey: normalisedReferenceKey(item.batchReference, ignored),
          subAccount: item.subAccount,
          description: item.description,
          kind: item.kind,
        }));
      const inserted = await this.items.insertLedgerItems(
        executor,
        missing,
        'export',
        this.clock.now().toISOString(),
        'missing event: in the ledger export but never received as ledger.transaction.posted',
      );
      if (inserted.size > 0) {
        await this.audit.record(executor, {
          actor: command.actor,
          role: 'service',
          action: 'items.import-missing',
          entity: { type: 'account', id: command.bankAccount },
          details: { businessDate: command.businessDate, missingEvents: inserted.size, entryIds: [...inserted].slice(0, 20) },
        });
      }
      return inserted.size;
    });
  }

  private async requiredBalances(command: RunBusinessDayCommand, warnings: string[]): Promise<LedgerBalance[]> {
    try {
      const rows = await this.ledgerBalances.requiredBalances(command.businessDate, command.bankAccount);
      return rows.map((row) => ({
        account: row.bankAccount,
        currency: row.currency,
        asOf: row.asOfDate,
        balanceMinor: Money.parse(row.requiredBalance, row.currency).amountMinor,
      }));
    } catch (error) {
      warnings.push(`balance check not done: ${error instanceof Error ? error.message : String(error)}`);
      return [];
    }
  }

  private async statementsOfDay(
    executor: SqlExecutor,
    command: RunBusinessDayCommand,
  ): Promise<{ statements: StatementBalance[]; findings: StatementFinding[] }> {
    const rows = await queryRows<StatementRow>(
      executor,
      `SELECT s.statement_id, s.bank_account, s.currency, s.sequence, to_char(s.to_date, 'YYYY-MM-DD') AS to_date, s.opening_amount, s.closing_amount,
              to_char(s.closing_date, 'YYYY-MM-DD') AS closing_date, s.entry_count, received.count AS received_count, received.sum AS received_sum
         FROM statements s
        -- The lines received of each statement, counted and summed in one pass over them.
        CROSS JOIN LATERAL (SELECT count(*)::int AS count, coalesce(sum(b.amount_minor), 0)::text AS sum FROM bank_items b
                             WHERE b.statement_id = s.statement_id AND b.bank_account = s.bank_account) AS received
        WHERE s.bank_account = $1 AND (s.to_date = $2::date OR s.closing_date = $2::date) AND s.format NOT IN ('camt.054', 'mt942', 'camt.052')
        ORDER BY s.received_at, s.statement_id`,
      [command.bankAccount, command.businessDate],
    );
    const statements: StatementBalance[] = [];
    const findings: StatementFinding[] = [];
    for (const row of rows) {
      statements.push({
        statementId: row.statement_id,
        account: row.bank_account,
        currency: row.currency,
        ...(row.sequence === null ? {} : { sequence: row.sequence }),
        ...(row.to_date === null ? {} : { to: row.to_date }),
        ...(row.closing_amount === null || row.closing_date === null
          ? {}
          : { closingBalance: { amountMinor: Money.parse(row.closing_amount, row.currency).amountMinor, date: row.closing_date } }),
      });
      const previousRows = await queryRows<StatementRow>(
        executor,
        `SELECT statement_id, bank_account, currency, sequence, to_char(to_date, 'YYYY-MM-DD') AS to_date, opening_amount, closing_amount,
                to_char(closing_date, 'YYYY-MM-DD') AS closing_date, entry_count, 0 AS received_count, '0' AS received_sum
           FROM statements WHERE bank_account = $1 AND currency = $2 AND to_date < $3::date AND format NOT IN ('camt.054', 'mt942', 'camt.052')
          ORDER BY to_date DESC, received_at DESC LIMIT 1`,
        [row.bank_account, row.currency, command.businessDate],
      );
      const previous = previousRows[0];
      findings.push(...statementFindings(storedOf(row), previous === undefined ? undefined : storedOf(previous)));
    }
    return { statements, findings };
  }

  private async autoMatchRate(executor: SqlExecutor, bankAccount: string, businessDate: string): Promise<number> {
    const rows = await queryRows<{ matched: string; total: string }>(
      executor,
      // Matched = no longer open (migration 0012): two counts over the day's index ranges, no probe per item.
      `SELECT (sum(total) - sum(open))::text AS matched, sum(total)::text AS total FROM (
         SELECT (SELECT count(*) FROM ledger_open_items WHERE bank_account = $1 AND value_date = $2::date) AS open,
                (SELECT count(*) FROM ledger_items WHERE bank_account = $1 AND value_date = $2::date) AS total
         UNION ALL
         SELECT (SELECT count(*) FROM bank_open_items WHERE bank_account = $1 AND effective_date = $2::date),
                (SELECT count(*) FROM bank_items WHERE bank_account = $1 AND effective_date = $2::date)) AS day`,
      [bankAccount, businessDate],
    );
    const total = Number(rows[0]?.total ?? '0');
    return total === 0 ? 1 : Math.round((Number(rows[0]?.matched ?? '0') / total) * 1_000_000) / 1_000_000;
  }
}

interface StatementRow {
  statement_id: string;
  bank_account: string;
  currency: string;
  sequence: string | null;
  to_date: string | null;
  opening_amount: string | null;
  closing_amount: string | null;
  closing_date: string | null;
  entry_count: number;
  received_count: number;
  received_sum: string;
}

function storedOf(row: StatementRow): StoredStatement {
  return {
    statementId: row.statement_id,
    bankAccount: row.bank_account,
    currency: row.currency,
    sequence: row.sequence ?? undefined,
    toDate: row.to_date ?? undefined,
    openingAmount: row.opening_amount ?? undefined,
    closingAmount: row.closing_amount ?? undefined,
    entryCount: row.entry_count,
    receivedLineCount: Number(row.received_count),
    receivedSumMinor: BigInt(row.received_sum),
  };
}

/** The grace window's day of every item in these breaks (ledger value date, bank effective date), by `L:`/`B:` id: one pass over the columns. */
function itemDatesOf(open: RunOpenItems, breaks: readonly ReconBreak[]): Map<string, number> {
  const ledgerIds = new Set(breaks.flatMap((found) => found.ledger));
  const bankIds = new Set(breaks.flatMap((found) => found.bank));
  const dates = new Map<string, number>();
  for (let index = 0; index < open.ledger.length; index += 1) {
    const id = open.ledger.entryId[index]!;
    if (ledgerIds.has(id)) dates.set(`L:${id}`, dayNumberOf(open.ledger.valueDate[index]!)!);
  }
  for (let index = 0; index < open.bank.length; index += 1) {
    const id = open.bank.id[index]!;
    if (bankIds.has(id)) dates.set(`B:${id}`, dayNumberOf(open.bankEffectiveDate[index]!)!);
  }
  return dates;
}
