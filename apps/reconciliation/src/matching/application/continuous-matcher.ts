import { Inject, Injectable } from '@nestjs/common';
import type { BankLineReceivedV1, BankStatementReceivedV1, LedgerAccountOpenedV1, LedgerTransactionPostedV1 } from '@recon/contracts';
import { EventSubjects } from '@recon/contracts';
import { reconcile, type RuleSet } from '@recon/matching';
import type { IncomingEvent } from '@recon/messaging';
import { CLOCK, type Clock, ID_GENERATOR, type IdGenerator } from '@recon/platform';
import type { SqlExecutor } from '@recon/persistence';
import { BreakRecorder, SERVICE_ACTOR } from '../../breaks/application/break-recorder';
import {
  bankItemOfLine,
  bankRecordOf,
  ledgerRecordOf,
  bankReferenceKeys,
  type BankItemRecord,
  type CustodyAccountRef,
  engineBankItemOf,
  engineLedgerItemOf,
  ignoredReferencesOf,
  ledgerItemsOfTransaction,
  ledgerLookupKeys,
  type LedgerItemRecord,
  valueDateToleranceDaysMax,
} from '../../items/domain/recon-items';
import { ItemsPgRepository, lockMatchKeys } from '../../items/infrastructure/items.pg.repository';

export const RULE_SET = Symbol('RULE_SET');

export interface MatchOutcome {
  readonly matchGroups: number;
  readonly breaksClosed: number;
}

/**
 * Continuous matching: every new item is stored and paired at once with the open items of the other side that
 * could be its partner (same account and currency, found through the reference keys and the amount indexes),
 * running the library's rule chain on that small set. What finds no partner stays pending; the grace sweep and
 * the nightly run turn it into a break when its window closes. A partner arriving after that closes the break.
 */
@Injectable()
export class ContinuousMatcher {
  private readonly items = new ItemsPgRepository();
  private readonly ignoredReferences: ReadonlySet<string>;
  private readonly toleranceDays: number;
  private readonly exactAmounts: boolean;
  /** Custody accounts never change their bank account: a cache saves a query per transaction. */
  private readonly custodyAccounts = new Map<string, CustodyAccountRef>();

  constructor(
    @Inject(RULE_SET) private readonly ruleSet: RuleSet,
    private readonly breaks: BreakRecorder,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {
    this.ignoredReferences = ignoredReferencesOf(ruleSet);
    this.toleranceDays = valueDateToleranceDaysMax(ruleSet);
    this.exactAmounts = ruleSet.rules.every((rule) => rule.amountToleranceMinor === 0n);
  }

  /** The inbox handler of both durable consumers. */
  async handle(event: IncomingEvent, executor: SqlExecutor): Promise<void> {
    switch (event.subject) {
      case EventSubjects.ledgerAccountOpened:
        return this.accountOpened(event.payload as LedgerAccountOpenedV1, executor);
      case EventSubjects.ledgerTransactionPosted:
        return this.transactionPosted(event.payload as LedgerTransactionPostedV1, executor);
      case EventSubjects.bankLineReceived:
        return this.lineReceived(event.payload as BankLineReceivedV1, executor);
      case EventSubjects.bankStatementReceived:
        return this.statementReceived(event.payload as BankStatementReceivedV1, executor);
      default:
        return; // other events of the streams are not ours to act on
    }
  }

  private async accountOpened(account: LedgerAccountOpenedV1, executor: SqlExecutor): Promise<void> {
    if (account.accountKind !== 'custody' || account.bankAccount === undefined) return;
    const ref = { bankAccount: account.bankAccount, currency: account.currency };
    await this.items.saveCustodyAccount(executor, account.accountId, ref, account.openedAt);
    this.custodyAccounts.set(account.accountId, ref);
  }

  private async custodyAccountOf(executor: SqlExecutor, accountIds: readonly string[]): Promise<Map<string, CustodyAccountRef>> {
    for (const accountId of accountIds) {
      if (this.custodyAccounts.has(accountId)) continue;
      const found = await this.items.custodyAccount(executor, accountId);
      if (found !== undefined) this.custodyAccounts.set(accountId, found);
    }
    return this.custodyAccounts;
  }

  private async transactionPosted(transaction: LedgerTransactionPostedV1, executor: SqlExecutor): Promise<void> {
    const custodyIds = transaction.lines.filter((line) => line.accountKind === 'custody').map((line) => line.accountId);
    if (custodyIds.length === 0) return;
    const known = await this.custodyAccountOf(executor, custodyIds);
    // Throws UnknownCustodyAccountError while the account's opening event is still in flight: the consumer retries.
    const rows = ledgerItemsOfTransaction(transaction, (accountId) => known.get(accountId), this.ignoredReferences);
    await lockMatchKeys(
      executor,
      rows.flatMap((row) => [
        this.amountLockKey(row.bankAccount, row.currency, row.amountMinor),
        ...ledgerLookupKeys(row, this.ruleSet).map((key) => `K:${row.bankAccount}:${key}`),
      ]),
    );
    const inserted = await this.items.insertLedgerItems(executor, rows, 'event', transaction.postedAt);
    for (const row of rows) {
      if (!inserted.has(row.entryId)) continue;
      const keys = ledgerLookupKeys(row, this.ruleSet);
      const window = { bankAccount: row.bankAccount, currency: row.currency, date: row.valueDate, toleranceDays: this.toleranceDays };
      const bank = await this.items.openBankCandidates(executor, { ...window, keys, amountsMinor: [row.amountMinor] });
      if (bank.length === 0) continue;
      const self = [ledgerRecordOf(row)];
      if ((await this.matchSmallSet(executor, self, bank, { ledger: row.entryId })).matchGroups > 0) continue;
      // Second hop, only when the direct candidates did not settle it: other open ledger entries that compete for
      // the same bank lines (batch members summing to one line, twins).
      const ledger = await this.items.openLedgerCandidates(executor, {
        ...window,
        keys,
        amountsMinor: [...new Set(bank.map((line) => BigInt(line.amount_minor)))],
      });
      await this.matchSmallSet(executor, ledger, bank);
    }
  }

  private async lineReceived(line: BankLineReceivedV1, executor: SqlExecutor): Promise<void> {
    const row = bankItemOfLine(line, this.ignoredReferences);
    const amounts = [row.amountMinor, ...(row.transactions ?? []).map((part) => part.amountMinor)];
    // Locks on the amount and the structured references only: words of the free text ("PAYMENT", "THANKS") would
    // serialise unrelated lines. A 1:1 partner always shares the amount key (exact amounts); a batch named only in
    // the text may race with its entries, and then waits for the sweep's full matching instead of being lost.
    const structuredKeys = bankReferenceKeys(
      { bankRef: line.bankRef, endToEndId: line.endToEndId, customerRef: line.customerRef, transactions: line.transactions },
      this.ignoredReferences,
    );
    await lockMatchKeys(executor, [
      ...amounts.map((amount) => this.amountLockKey(row.bankAccount, row.currency, amount)),
      ...structuredKeys.map((key) => `K:${row.bankAccount}:${key}`),
    ]);
    const { itemRef, candidates: ledger } = await this.items.insertBankItemWithCandidates(executor, row, {
      keys: row.refKeys,
      amountsMinor: amounts,
      toleranceDays: this.toleranceDays,
    });
    if (itemRef === undefined || ledger.length === 0) return;
    const self = [bankRecordOf(row, itemRef)];
    if ((await this.matchSmallSet(executor, ledger, self, { bank: itemRef })).matchGroups > 0) return;
    // Second hop, only when the direct candidates did not settle it: other open bank lines that compete for the
    // same ledger entries (split settlements, twins).
    const ledgerKeys = [
      ...new Set(
        ledger.flatMap((entry) => ledgerLookupKeys({ refKey: normalise(entry.reference), batchRefKey: normalise(entry.batch_reference) }, this.ruleSet)),
      ),
    ];
    const bank = await this.items.openBankCandidates(executor, {
      bankAccount: row.bankAccount,
      currency: row.currency,
      keys: ledgerKeys,
      amountsMinor: [...new Set(ledger.map((entry) => BigInt(entry.amount_minor)))],
      date: row.effectiveDate,
      toleranceDays: this.toleranceDays,
    });
    await this.matchSmallSet(executor, ledger, bank);
  }

  private async statementReceived(statement: BankStatementReceivedV1, executor: SqlExecutor): Promise<void> {
    await executor.query(
      `INSERT INTO statements (statement_key, statement_id, file_id, format, bank_account, currency, sequence, from_date, to_date, opening_amount,
                               opening_date, closing_amount, closing_date, entry_count, rejected_count, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
       ON CONFLICT (statement_key) DO NOTHING`,
      [
        `${statement.fileId}:${statement.statementId}`,
        statement.statementId,
        statement.fileId,
        statement.format,
        statement.account,
        statement.currency,
        statement.sequence ?? null,
        statement.from ?? null,
        statement.to ?? null,
        statement.openingBalance?.amount ?? null,
        statement.openingBalance?.date ?? null,
        statement.closingBalance?.amount ?? null,
        statement.closingBalance?.date ?? null,
        statement.entryCount,
        statement.rejectedCount,
        statement.receivedAt,
      ],
    );
  }

  /** Runs the rule chain on the loaded candidates and records every match it finds among them. */
  /**
   * Runs the rule chain on the loaded candidates and records the matches it finds among them; with `involving`,
   * only a match of that item counts (the first hop saw only its direct candidates, not their competitors).
   */
  async matchSmallSet(
    executor: SqlExecutor,
    ledger: readonly LedgerItemRecord[],
    bank: readonly BankItemRecord[],
    involving?: { ledger?: string; bank?: string },
  ): Promise<MatchOutcome> {
    if (ledger.length === 0 || bank.length === 0) return { matchGroups: 0, breaksClosed: 0 };
    const ledgerItems = [...new Map(ledger.map((row) => [row.entry_id, engineLedgerItemOf(row)])).values()];
    const bankItems = [...new Map(bank.map((row) => [row.item_ref, engineBankItemOf(row)])).values()];
    const result = reconcile({ ledger: ledgerItems, bank: bankItems }, this.ruleSet);
    const matches =
      involving === undefined
        ? result.matches
        : result.matches.filter(
            (match) =>
              (involving.ledger !== undefined && match.ledger.includes(involving.ledger)) ||
              (involving.bank !== undefined && match.bank.includes(involving.bank)),
          );
    return this.recordMatches(executor, matches);
  }

  async recordMatches(
    executor: SqlExecutor,
    matches: readonly { rule: string; ledger: readonly string[]; bank: readonly string[] }[],
    runId?: string,
  ): Promise<MatchOutcome> {
    let breaksClosed = 0;
    for (const match of matches) {
      const matchId = this.ids.uuid();
      const breakIds = await this.items.recordMatch(executor, {
        matchId,
        rule: match.rule,
        ledger: match.ledger,
        bank: match.bank,
        runId,
        matchedAt: this.clock.now(),
      });
      for (const breakId of breakIds) {
        const closed = await this.breaks.close(executor, breakId, {
          status: 'closed',
          resolutionCode: 'late_partner',
          note: `late partner: ledger ${match.ledger.join(', ')} and bank ${match.bank.join(', ')} matched by rule ${match.rule}`,
          actor: SERVICE_ACTOR,
          matchId,
        });
        if (closed) breaksClosed += 1;
      }
    }
    return { matchGroups: matches.length, breaksClosed };
  }

  private amountLockKey(bankAccount: string, currency: string, amountMinor: bigint): string {
    // With a tolerance, partners may differ in amount: the whole account is then the unit of serialisation.
    return this.exactAmounts ? `A:${bankAccount}:${currency}:${amountMinor < 0n ? -amountMinor : amountMinor}` : `A:${bankAccount}:${currency}`;
  }
}

function normalise(reference: string | null): string | undefined {
  if (reference === null) return undefined;
  const key = reference
    .trim()
    .toUpperCase()
    .replace(/[^0-9A-Z]/g, '');
  return key.length === 0 ? undefined : key;
}
