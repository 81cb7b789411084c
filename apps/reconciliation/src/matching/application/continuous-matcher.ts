import { Inject, Injectable } from '@nestjs/common';
import type { BankLineReceivedV1, BankStatementReceivedV1, LedgerAccountOpenedV1, LedgerTransactionPostedV1 } from '@recon/contracts';
import { EventSubjects } from '@recon/contracts';
import { matchOnly } from '@recon/matching';
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
  type BankItemRow,
  type CustodyAccountRef,
  engineBankItemOf,
  engineLedgerItemOf,
  ledgerItemsOfTransaction,
  ledgerLookupKeys,
  type LedgerItemRecord,
  type LedgerItemRow,
} from '../../items/domain/recon-items';
import { type ActiveRuleSet, ActiveRuleSetProvider } from '../../rules/application/active-rule-set';
import { CANDIDATES_MAX, ItemsPgRepository, lockMatchKeySets } from '../../items/infrastructure/items.pg.repository';

/** The built-in rule set: what applies until a version is activated (ActiveRuleSetProvider answers the active one). */
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
  /** Custody accounts never change their bank account: a cache saves a query per transaction. */
  private readonly custodyAccounts = new Map<string, CustodyAccountRef>();

  constructor(
    private readonly activeRules: ActiveRuleSetProvider,
    private readonly breaks: BreakRecorder,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  /** One event (the consumers' one-by-one path): the same set-based path as a batch of one. */
  async handle(event: IncomingEvent, executor: SqlExecutor): Promise<void> {
    await this.handleBatch([event], executor);
  }

  /**
   * The batch handler of both durable consumers: the events of one pull, in one transaction. Accounts and
   * statements are stored first (a transaction later in the batch may need its account); then every new ledger
   * entry, and every new bank line, is inserted, locked and given its candidates set-wise (one statement each for
   * the whole batch), and paired in stream order against those candidates in memory, exactly as one item at a
   * time would be (an item matched earlier in the batch is no candidate any more); the matches are recorded with
   * one statement at the end. Throwing rolls the whole batch back (the consumer then handles it one by one).
   */
  async handleBatch(events: readonly IncomingEvent[], executor: SqlExecutor): Promise<void> {
    const transactions: LedgerTransactionPostedV1[] = [];
    const lines: BankLineReceivedV1[] = [];
    for (const event of events) {
      switch (event.subject) {
        case EventSubjects.ledgerAccountOpened:
          await this.accountOpened(event.payload as LedgerAccountOpenedV1, executor);
          break;
        case EventSubjects.ledgerTransactionPosted:
          transactions.push(event.payload as LedgerTransactionPostedV1);
          break;
        case EventSubjects.bankLineReceived:
          lines.push(event.payload as BankLineReceivedV1);
          break;
        case EventSubjects.bankStatementReceived:
          await this.statementReceived(event.payload as BankStatementReceivedV1, executor);
          break;
        default:
          break; // other events of the streams are not ours to act on
      }
    }
    if (transactions.length === 0 && lines.length === 0) return;
    // The active rule set for the whole batch: from memory, re-read at most once per RECON_RULES_RECHECK_INTERVAL_MS.
    const rules = await this.activeRules.current(executor);
    if (transactions.length > 0) await this.transactionsPosted(transactions, executor, rules);
    if (lines.length > 0) await this.linesReceived(lines, executor, rules);
  }

  private async accountOpened(account: LedgerAccountOpenedV1, executor: SqlExecutor): Promise<void> {
    if (account.accountKind !== 'custody' || account.bankAccount === undefined) return;
    const ref = { bankAccount: account.bankAccount, currency: account.currency };
    await this.items.saveCustodyAccount(executor, account.accountId, ref, account.openedAt);
    this.custodyAccounts.set(account.accountId, ref);
  }

  private async custodyAccountsOf(executor: SqlExecutor, accountIds: readonly string[]): Promise<Map<string, CustodyAccountRef>> {
    const unknown = [...new Set(accountIds.filter((accountId) => !this.custodyAccounts.has(accountId)))];
    for (const [accountId, ref] of await this.items.custodyAccounts(executor, unknown)) this.custodyAccounts.set(accountId, ref);
    return this.custodyAccounts;
  }

  private async transactionsPosted(transactions: readonly LedgerTransactionPostedV1[], executor: SqlExecutor, rules: ActiveRuleSet): Promise<void> {
    const custodyIds = transactions.flatMap((transaction) => transaction.lines.filter((line) => line.accountKind === 'custody').map((line) => line.accountId));
    if (custodyIds.length === 0) return;
    const known = await this.custodyAccountsOf(executor, custodyIds);
    const byEntryId = new Map<string, { row: LedgerItemRow; receivedAt: string }>();
    for (const transaction of transactions) {
      // Throws UnknownCustodyAccountError while the account's opening event is still in flight: the consumer retries.
      for (const row of ledgerItemsOfTransaction(transaction, (accountId) => known.get(accountId), rules.ignoredReferences)) {
        if (!byEntryId.has(row.entryId)) byEntryId.set(row.entryId, { row, receivedAt: transaction.postedAt });
      }
    }
    const entries = [...byEntryId.values()];
    if (entries.length === 0) return;
    // Inserted before the locks: a transaction that takes them after this one committed sees these rows, and one
    // that holds them now cannot see them, so it cannot match them either.
    const inserted = await this.items.insertLedgerItems(
      executor,
      entries.map(({ row }) => row),
      'event',
      entries.map(({ receivedAt }) => receivedAt),
    );
    const fresh = entries.map(({ row }) => row).filter((row) => inserted.has(row.entryId));
    if (fresh.length === 0) return;
    await lockMatchKeySets(
      executor,
      fresh.map((row) => [
        this.amountLockKey(rules, row.bankAccount, row.currency, row.amountMinor),
        ...ledgerLookupKeys(row, rules.ruleSet).map((key) => `K:${row.bankAccount}:${key}`),
      ]),
    );
    const queryOf = (row: LedgerItemRow, amountsMinor: readonly bigint[]) => ({
      bankAccount: row.bankAccount,
      currency: row.currency,
      keys: ledgerLookupKeys(row, rules.ruleSet),
      amountsMinor,
      date: row.valueDate,
    });
    const batch = new BatchMatches();
    const loadLimit = CANDIDATES_MAX + fresh.length;
    const loaded = await this.items.openBankCandidatesOf(
      executor,
      fresh.map((row) => queryOf(row, [row.amountMinor])),
      rules.toleranceDays,
      loadLimit,
    );
    for (const [index, row] of fresh.entries()) {
      if (batch.ledgerMatched.has(row.entryId)) continue;
      const bank =
        batch.stillOpen(loaded[index]!, loadLimit, batch.bankMatched, (line) => line.item_ref) ??
        batch.stillOpen(
          await this.items.openBankCandidates(
            executor,
            { ...queryOf(row, [row.amountMinor]), toleranceDays: rules.toleranceDays },
            CANDIDATES_MAX + batch.bankMatched.size,
          ),
          undefined,
          batch.bankMatched,
          (line) => line.item_ref,
        )!;
      if (bank.length === 0) continue;
      if (this.matchInBatch(rules, batch, [ledgerRecordOf(row)], bank, { ledger: row.entryId }) > 0) continue;
      // Second hop, only when the direct candidates did not settle it: other open ledger entries that compete for
      // the same bank lines (batch members summing to one line, twins).
      const ledger = batch.stillOpen(
        await this.items.openLedgerCandidates(
          executor,
          { ...queryOf(row, [...new Set(bank.map((line) => BigInt(line.amount_minor)))]), toleranceDays: rules.toleranceDays },
          CANDIDATES_MAX + batch.ledgerMatched.size,
        ),
        undefined,
        batch.ledgerMatched,
        (entry) => entry.entry_id,
      )!;
      this.matchInBatch(rules, batch, ledger, bank);
    }
    await this.recordMatches(executor, batch.matches);
  }

  private async linesReceived(lines: readonly BankLineReceivedV1[], executor: SqlExecutor, rules: ActiveRuleSet): Promise<void> {
    const byLineId = new Map<string, { line: BankLineReceivedV1; row: BankItemRow }>();
    for (const line of lines) if (!byLineId.has(line.lineId)) byLineId.set(line.lineId, { line, row: bankItemOfLine(line, rules.ignoredReferences) });
    const received = [...byLineId.values()];
    const amountsOf = (row: BankItemRow) => [row.amountMinor, ...(row.transactions ?? []).map((part) => part.amountMinor)];
    // Inserted before the locks (see transactionsPosted).
    const named = await this.items.insertBankItems(
      executor,
      received.map(({ row }) => row),
    );
    const fresh = received.flatMap(({ line, row }) => (named.has(row.lineId) ? [{ line, row, itemRef: named.get(row.lineId)! }] : []));
    if (fresh.length === 0) return;
    // Locks on the amount and the structured references only: words of the free text ("PAYMENT", "THANKS") would
    // serialise unrelated lines. A 1:1 partner always shares the amount key (exact amounts); a batch named only in
    // the text may race with its entries, and then waits for the sweep's full matching instead of being lost.
    await lockMatchKeySets(
      executor,
      fresh.map(({ line, row }) => [
        ...amountsOf(row).map((amount) => this.amountLockKey(rules, row.bankAccount, row.currency, amount)),
        ...bankReferenceKeys(
          { bankRef: line.bankRef, endToEndId: line.endToEndId, customerRef: line.customerRef, transactions: line.transactions },
          rules.ignoredReferences,
        ).map((key) => `K:${row.bankAccount}:${key}`),
      ]),
    );
    const queryOf = (row: BankItemRow) => ({
      bankAccount: row.bankAccount,
      currency: row.currency,
      keys: row.refKeys,
      amountsMinor: amountsOf(row),
      date: row.effectiveDate,
    });
    const batch = new BatchMatches();
    const loadLimit = CANDIDATES_MAX + fresh.length;
    const loaded = await this.items.openLedgerCandidatesOf(
      executor,
      fresh.map(({ row }) => queryOf(row)),
      rules.toleranceDays,
      loadLimit,
    );
    for (const [index, { row, itemRef }] of fresh.entries()) {
      if (batch.bankMatched.has(itemRef)) continue;
      const ledger =
        batch.stillOpen(loaded[index]!, loadLimit, batch.ledgerMatched, (entry) => entry.entry_id) ??
        batch.stillOpen(
          await this.items.openLedgerCandidates(executor, { ...queryOf(row), toleranceDays: rules.toleranceDays }, CANDIDATES_MAX + batch.ledgerMatched.size),
          undefined,
          batch.ledgerMatched,
          (entry) => entry.entry_id,
        )!;
      if (ledger.length === 0) continue;
      if (this.matchInBatch(rules, batch, ledger, [bankRecordOf(row, itemRef)], { bank: itemRef }) > 0) continue;
      // Second hop, only when the direct candidates did not settle it: other open bank lines that compete for the
      // same ledger entries (split settlements, twins).
      const ledgerKeys = [
        ...new Set(
          ledger.flatMap((entry) => ledgerLookupKeys({ refKey: normalise(entry.reference), batchRefKey: normalise(entry.batch_reference) }, rules.ruleSet)),
        ),
      ];
      const bank = batch.stillOpen(
        await this.items.openBankCandidates(
          executor,
          {
            bankAccount: row.bankAccount,
            currency: row.currency,
            keys: ledgerKeys,
            amountsMinor: [...new Set(ledger.map((entry) => BigInt(entry.amount_minor)))],
            date: row.effectiveDate,
            toleranceDays: rules.toleranceDays,
          },
          CANDIDATES_MAX + batch.bankMatched.size,
        ),
        undefined,
        batch.bankMatched,
        (line) => line.item_ref,
      )!;
      this.matchInBatch(rules, batch, ledger, bank);
    }
    await this.recordMatches(executor, batch.matches);
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

  /**
   * Runs the rule chain on the loaded candidates and keeps the matches it finds among them for the batch; with
   * `involving`, only a match of that item counts (the first hop saw only its direct candidates, not their
   * competitors). Returns the number of match groups kept.
   */
  private matchInBatch(
    rules: ActiveRuleSet,
    batch: BatchMatches,
    ledger: readonly LedgerItemRecord[],
    bank: readonly BankItemRecord[],
    involving?: { ledger?: string; bank?: string },
  ): number {
    if (ledger.length === 0 || bank.length === 0) return 0;
    const ledgerItems = [...new Map(ledger.map((row) => [row.entry_id, engineLedgerItemOf(row)])).values()];
    const bankItems = [...new Map(bank.map((row) => [row.item_ref, engineBankItemOf(row)])).values()];
    const found = matchOnly({ ledger: ledgerItems, bank: bankItems }, rules.ruleSet);
    const matches =
      involving === undefined
        ? found
        : found.filter(
            (match) =>
              (involving.ledger !== undefined && match.ledger.includes(involving.ledger)) ||
              (involving.bank !== undefined && match.bank.includes(involving.bank)),
          );
    for (const match of matches) batch.add(match);
    return matches.length;
  }

  /** Records match groups (one statement per thousand) and closes the breaks their items were in (a late partner). */
  async recordMatches(
    executor: SqlExecutor,
    matches: readonly { rule: string; ledger: readonly string[]; bank: readonly string[] }[],
    runId?: string,
  ): Promise<MatchOutcome> {
    if (matches.length === 0) return { matchGroups: 0, breaksClosed: 0 };
    const identified = matches.map((match) => ({ ...match, matchId: this.ids.uuid() }));
    const breaksOf = await this.items.recordMatches(executor, identified, { ...(runId === undefined ? {} : { runId }), matchedAt: this.clock.now() });
    let breaksClosed = 0;
    for (const match of identified) {
      for (const breakId of breaksOf.get(match.matchId) ?? []) {
        const closed = await this.breaks.close(executor, breakId, {
          status: 'closed',
          resolutionCode: 'late_partner',
          note: `late partner: ledger ${match.ledger.join(', ')} and bank ${match.bank.join(', ')} matched by rule ${match.rule}`,
          actor: SERVICE_ACTOR,
          matchId: match.matchId,
        });
        if (closed) breaksClosed += 1;
      }
    }
    return { matchGroups: matches.length, breaksClosed };
  }

  private amountLockKey(rules: ActiveRuleSet, bankAccount: string, currency: string, amountMinor: bigint): string {
    // With a tolerance, partners may differ in amount: the whole account is then the unit of serialisation.
    return rules.exactAmounts ? `A:${bankAccount}:${currency}:${amountMinor < 0n ? -amountMinor : amountMinor}` : `A:${bankAccount}:${currency}`;
  }
}

/** The matches found so far in one batch, not recorded yet: their items are no candidates for the rest of the batch. */
class BatchMatches {
  readonly matches: { rule: string; ledger: readonly string[]; bank: readonly string[] }[] = [];
  readonly ledgerMatched = new Set<string>();
  readonly bankMatched = new Set<string>();

  add(match: { rule: string; ledger: readonly string[]; bank: readonly string[] }): void {
    this.matches.push(match);
    for (const id of match.ledger) this.ledgerMatched.add(id);
    for (const id of match.bank) this.bankMatched.add(id);
  }

  /**
   * The candidates (nearest first) without those matched earlier in the batch, at most CANDIDATES_MAX, as one item
   * at a time would have loaded them; undefined when the list was cut at `loadedLimit` and more were taken than
   * the extra rows loaded cover (the caller then loads that item's candidates again).
   */
  stillOpen<T>(loaded: readonly T[], loadedLimit: number | undefined, matched: ReadonlySet<string>, idOf: (row: T) => string): T[] | undefined {
    const open = loaded.filter((row) => !matched.has(idOf(row)));
    if (loadedLimit !== undefined && loaded.length >= loadedLimit && open.length < CANDIDATES_MAX) return undefined;
    return open.slice(0, CANDIDATES_MAX);
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
