import { Money } from '@recon/money';
import { queryRows, type SqlExecutor } from '@recon/persistence';
import { type AccountRef, type NewTransaction, normalBalanceMinor, type PostingSide, type TransactionKind } from '../domain/transaction';

/** What a client sees of a booked transaction; the same body is returned when a request is replayed. */
export interface TransactionView {
  readonly transactionId: string;
  readonly idempotencyKey: string;
  readonly kind: TransactionKind;
  readonly reference: string;
  readonly batchReference?: string;
  readonly description?: string;
  readonly valueDate: string;
  readonly postedAt: string;
  readonly postedBy: string;
  readonly reversesTransactionId?: string;
  readonly lines: readonly {
    readonly lineNo: number;
    readonly account: string;
    readonly accountId: string;
    readonly accountKind: AccountRef['kind'];
    readonly custodyAccountId?: string;
    readonly side: PostingSide;
    readonly amount: string;
    readonly currency: string;
  }[];
}

export interface BalanceTotals {
  readonly account: AccountRef;
  readonly debitsMinor: bigint;
  readonly creditsMinor: bigint;
}

interface AccountRow {
  account_id: string;
  code: string;
  kind: AccountRef['kind'];
  currency: string;
  custody_account_id: string | null;
  overdraft_permitted_at: Date | null;
}

/**
 * Postgres adapter of the journal. Append-only by construction: there is no update or delete of ledger
 * rows here (R5); running totals move by increments under row locks taken in account-id order, so that
 * concurrent postings never lose an update and never deadlock.
 */
export class JournalPgRepository {
  async findAccountsByCodes(executor: SqlExecutor, codes: readonly string[]): Promise<Map<string, AccountRef>> {
    const rows = await queryRows<AccountRow>(
      executor,
      `SELECT account_id, code, kind, currency, custody_account_id, overdraft_permitted_at FROM accounts WHERE code = ANY($1::text[])`,
      [[...new Set(codes)]],
    );
    return new Map(rows.map((row) => [row.code, toAccountRef(row)]));
  }

  async findByIdempotencyKeys(executor: SqlExecutor, keys: readonly string[]): Promise<Map<string, { transactionId: string; requestSha256: string }>> {
    const rows = await queryRows<{ transaction_id: string; idempotency_key: string; request_sha256: string }>(
      executor,
      `SELECT transaction_id, idempotency_key, request_sha256 FROM transactions WHERE idempotency_key = ANY($1::text[])`,
      [keys],
    );
    return new Map(rows.map((row) => [row.idempotency_key, { transactionId: row.transaction_id, requestSha256: row.request_sha256 }]));
  }

  /** Inserts the transactions and their postings; returns the idempotency keys actually inserted. */
  async append(executor: SqlExecutor, transactions: readonly NewTransaction[]): Promise<Set<string>> {
    if (transactions.length === 0) return new Set();
    const inserted = await queryRows<{ idempotency_key: string }>(
      executor,
      `INSERT INTO transactions (transaction_id, idempotency_key, request_sha256, kind, reference, batch_reference, description,
                                 value_date, posted_at, posted_by, reverses_transaction_id)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                            $8::date[], $9::timestamptz[], $10::text[], $11::uuid[])
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING idempotency_key`,
      [
        transactions.map((tx) => tx.transactionId),
        transactions.map((tx) => tx.idempotencyKey),
        transactions.map((tx) => tx.requestSha256),
        transactions.map((tx) => tx.kind),
        transactions.map((tx) => tx.reference),
        transactions.map((tx) => tx.batchReference ?? null),
        transactions.map((tx) => tx.description ?? null),
        transactions.map((tx) => tx.valueDate),
        transactions.map((tx) => tx.postedAt.toISOString()),
        transactions.map((tx) => tx.postedBy),
        transactions.map((tx) => tx.reversesTransactionId ?? null),
      ],
    );
    const insertedKeys = new Set(inserted.map((row) => row.idempotency_key));
    const postings = transactions.filter((tx) => insertedKeys.has(tx.idempotencyKey)).flatMap((tx) => tx.postings.map((posting) => ({ tx, posting })));
    if (postings.length > 0) {
      await executor.query(
        `INSERT INTO postings (transaction_id, line_no, account_id, side, amount_minor, currency, value_date, posted_at)
         SELECT * FROM unnest($1::uuid[], $2::smallint[], $3::uuid[], $4::text[], $5::numeric[], $6::char(3)[], $7::date[], $8::timestamptz[])`,
        [
          postings.map(({ tx }) => tx.transactionId),
          postings.map(({ posting }) => posting.lineNo),
          postings.map(({ posting }) => posting.account.accountId),
          postings.map(({ posting }) => posting.side),
          postings.map(({ posting }) => posting.amount.amountMinor.toString()),
          postings.map(({ posting }) => posting.amount.currency),
          postings.map(({ tx }) => tx.valueDate),
          postings.map(({ tx }) => tx.postedAt.toISOString()),
        ],
      );
    }
    return insertedKeys;
  }

  /** Adds the postings to the running totals and returns the new totals of every touched account. */
  async applyToBalances(executor: SqlExecutor, transactions: readonly NewTransaction[]): Promise<BalanceTotals[]> {
    const deltas = new Map<string, { account: AccountRef; debitsMinor: bigint; creditsMinor: bigint }>();
    for (const tx of transactions) {
      for (const posting of tx.postings) {
        const delta = deltas.get(posting.account.accountId) ?? { account: posting.account, debitsMinor: 0n, creditsMinor: 0n };
        if (posting.side === 'debit') delta.debitsMinor += posting.amount.amountMinor;
        else delta.creditsMinor += posting.amount.amountMinor;
        deltas.set(posting.account.accountId, delta);
      }
    }
    const ordered = [...deltas.values()].sort((a, b) => (a.account.accountId < b.account.accountId ? -1 : 1));
    if (ordered.length === 0) return [];
    const accountIds = ordered.map((delta) => delta.account.accountId);
    // Lock in a fixed order first: two batches touching the same accounts then queue instead of deadlocking.
    await executor.query(`SELECT account_id FROM account_balances WHERE account_id = ANY($1::uuid[]) ORDER BY account_id FOR UPDATE`, [accountIds]);
    const rows = await queryRows<{ account_id: string; debits_minor: string; credits_minor: string }>(
      executor,
      `UPDATE account_balances AS balance
          SET debits_minor = balance.debits_minor + delta.debits_minor,
              credits_minor = balance.credits_minor + delta.credits_minor
         FROM unnest($1::uuid[], $2::numeric[], $3::numeric[]) AS delta (account_id, debits_minor, credits_minor)
        WHERE balance.account_id = delta.account_id
        RETURNING balance.account_id, balance.debits_minor::text, balance.credits_minor::text`,
      [accountIds, ordered.map((delta) => delta.debitsMinor.toString()), ordered.map((delta) => delta.creditsMinor.toString())],
    );
    if (rows.length !== ordered.length) throw new Error(`balance rows missing for ${ordered.length - rows.length} accounts`);
    const byId = new Map(ordered.map((delta) => [delta.account.accountId, delta.account]));
    return rows.map((row) => ({
      account: byId.get(row.account_id) as AccountRef,
      debitsMinor: BigInt(row.debits_minor),
      creditsMinor: BigInt(row.credits_minor),
    }));
  }

  async loadViews(executor: SqlExecutor, transactionIds: readonly string[]): Promise<Map<string, TransactionView>> {
    if (transactionIds.length === 0) return new Map();
    const rows = await queryRows<{
      transaction_id: string;
      idempotency_key: string;
      kind: TransactionKind;
      reference: string;
      batch_reference: string | null;
      description: string | null;
      value_date: string;
      posted_at: Date;
      posted_by: string;
      reverses_transaction_id: string | null;
      line_no: number;
      code: string;
      account_id: string;
      account_kind: AccountRef['kind'];
      custody_account_id: string | null;
      side: PostingSide;
      amount_minor: string;
      currency: string;
    }>(
      executor,
      `SELECT t.transaction_id, t.idempotency_key, t.kind, t.reference, t.batch_reference, t.description,
              to_char(t.value_date, 'YYYY-MM-DD') AS value_date, t.posted_at, t.posted_by, t.reverses_transaction_id,
              p.line_no, a.code, a.account_id, a.kind AS account_kind, a.custody_account_id, p.side, p.amount_minor::text, p.currency
         FROM transactions t
         JOIN postings p ON p.transaction_id = t.transaction_id
         JOIN accounts a ON a.account_id = p.account_id
        WHERE t.transaction_id = ANY($1::uuid[])
        ORDER BY t.position, p.line_no`,
      [transactionIds],
    );
    const views = new Map<string, TransactionView & { lines: TransactionView['lines'][number][] }>();
    for (const row of rows) {
      let view = views.get(row.transaction_id);
      if (view === undefined) {
        view = {
          transactionId: row.transaction_id,
          idempotencyKey: row.idempotency_key,
          kind: row.kind,
          reference: row.reference,
          ...(row.batch_reference === null ? {} : { batchReference: row.batch_reference }),
          ...(row.description === null ? {} : { description: row.description }),
          valueDate: row.value_date,
          postedAt: row.posted_at.toISOString(),
          postedBy: row.posted_by,
          ...(row.reverses_transaction_id === null ? {} : { reversesTransactionId: row.reverses_transaction_id }),
          lines: [],
        };
        views.set(row.transaction_id, view);
      }
      view.lines.push({
        lineNo: row.line_no,
        account: row.code,
        accountId: row.account_id,
        accountKind: row.account_kind,
        ...(row.custody_account_id === null ? {} : { custodyAccountId: row.custody_account_id }),
        side: row.side,
        amount: Money.of(BigInt(row.amount_minor), row.currency).toDecimalString(),
        currency: row.currency,
      });
    }
    return views;
  }

  async findForReversal(executor: SqlExecutor, transactionId: string): Promise<{ kind: TransactionKind; reversedBy: string | null } | undefined> {
    const rows = await queryRows<{ kind: TransactionKind; reversed_by: string | null }>(
      executor,
      `SELECT t.kind, r.transaction_id AS reversed_by
         FROM transactions t LEFT JOIN transactions r ON r.reverses_transaction_id = t.transaction_id
        WHERE t.transaction_id = $1`,
      [transactionId],
    );
    const row = rows[0];
    return row === undefined ? undefined : { kind: row.kind, reversedBy: row.reversed_by };
  }
}

export function toAccountRef(row: AccountRow): AccountRef {
  return {
    accountId: row.account_id,
    code: row.code,
    kind: row.kind,
    currency: row.currency,
    custodyAccountId: row.custody_account_id,
    overdraftPermitted: row.overdraft_permitted_at !== null,
  };
}

export function isOverdrawn(totals: BalanceTotals): boolean {
  if (totals.account.overdraftPermitted) return false;
  // Customers and the platform's own funds cannot owe the custody account money; custody and suspense
  // balances follow the bank and the investigations, whatever their sign.
  if (totals.account.kind !== 'customer' && totals.account.kind !== 'own_funds') return false;
  return normalBalanceMinor(totals.account.kind, totals.debitsMinor, totals.creditsMinor) < 0n;
}
