import { createHash } from 'node:crypto';
import { queryRows, type SqlExecutor } from '@recon/persistence';
import type { BankItemRecord, BankItemRow, CustodyAccountRef, LedgerItemRecord, LedgerItemRow } from '../domain/recon-items';

/** Candidates loaded per side for one incremental match: the nearest first, the rest waits for the full run. */
export const CANDIDATES_MAX = 500;
/** Open items a full run takes per account; a backlog beyond this is matched over several runs (and says so). */
export const OPEN_ITEMS_PER_RUN_MAX = 200_000;
/** Advisory locks taken by one item (its amount plus its reference keys). */
export const MATCH_LOCKS_MAX = 256;
/** Names tried for a bank line without a unique bankRef: statementId:lineNo, then #2.. up to this many. */
export const ITEM_REF_SUFFIXES_MAX = 10;

const LEDGER_COLUMNS =
  "entry_id, bank_account, currency, amount_minor::text AS amount_minor, to_char(value_date, 'YYYY-MM-DD') AS value_date, reference, batch_reference, sub_account, description, kind";
const BANK_COLUMNS = `line_id, item_ref, statement_id, line_no, bank_account, currency, amount_minor::text AS amount_minor,
  to_char(value_date, 'YYYY-MM-DD') AS value_date, to_char(booking_date, 'YYYY-MM-DD') AS booking_date, to_char(effective_date, 'YYYY-MM-DD') AS effective_date,
  bank_ref, end_to_end_id, customer_ref, bank_tx_code, counterparty_name, remittance, reversal, transactions`;

/**
 * Serialises the transactions that could pair the same items: every item locks its amount (when amounts must
 * agree exactly) and its reference keys, so an item and its partner arriving at the same moment on two
 * consumers never both miss each other. Locks are taken in one sorted statement, so two items never deadlock on them.
 */
export async function lockMatchKeys(executor: SqlExecutor, keys: readonly string[]): Promise<void> {
  const ids = [...new Set(keys.slice(0, MATCH_LOCKS_MAX).map(lockIdOf))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (ids.length === 0) return;
  await executor.query('SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT k FROM unnest($1::bigint[]) AS k ORDER BY k) AS sorted', [ids.map(String)]);
}

function lockIdOf(key: string): bigint {
  return createHash('sha256').update(key).digest().readBigInt64BE(0);
}

export class ItemsPgRepository {
  async saveCustodyAccount(executor: SqlExecutor, accountId: string, account: CustodyAccountRef, openedAt: string): Promise<void> {
    await executor.query(
      `INSERT INTO custody_accounts (account_id, bank_account, currency, opened_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (account_id) DO NOTHING`,
      [accountId, account.bankAccount, account.currency, openedAt],
    );
  }

  async custodyAccount(executor: SqlExecutor, accountId: string): Promise<CustodyAccountRef | undefined> {
    const rows = await queryRows<{ bank_account: string; currency: string }>(
      executor,
      'SELECT bank_account, currency FROM custody_accounts WHERE account_id = $1',
      [accountId],
    );
    const row = rows[0];
    return row === undefined ? undefined : { bankAccount: row.bank_account, currency: row.currency };
  }

  /** Inserts the items not stored yet; returns the ids actually inserted. */
  async insertLedgerItems(
    executor: SqlExecutor,
    items: readonly LedgerItemRow[],
    source: 'event' | 'export',
    receivedAt: string,
    note?: string,
  ): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    const rows = await queryRows<{ entry_id: string }>(
      executor,
      `INSERT INTO ledger_items (entry_id, bank_account, currency, amount_minor, value_date, reference, ref_key, batch_ref_key, sub_account,
                                 description, kind, batch_reference, source, note, received_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::date[], $6::text[], $7::text[], $8::text[], $9::text[],
                            $10::text[], $11::text[], $12::text[]) AS t,
                     LATERAL (SELECT $13::text, $14::text, $15::timestamptz) AS c
       ON CONFLICT (entry_id) DO NOTHING
       RETURNING entry_id`,
      [
        items.map((item) => item.entryId),
        items.map((item) => item.bankAccount),
        items.map((item) => item.currency),
        items.map((item) => item.amountMinor.toString()),
        items.map((item) => item.valueDate),
        items.map((item) => item.reference ?? null),
        items.map((item) => item.refKey ?? null),
        items.map((item) => item.batchRefKey ?? null),
        items.map((item) => item.subAccount ?? null),
        items.map((item) => item.description ?? null),
        items.map((item) => item.kind ?? null),
        items.map((item) => item.batchReference ?? null),
        source,
        note ?? null,
        receivedAt,
      ],
    );
    return new Set(rows.map((row) => row.entry_id));
  }

  async existingLedgerEntryIds(executor: SqlExecutor, entryIds: readonly string[]): Promise<Set<string>> {
    if (entryIds.length === 0) return new Set();
    const rows = await queryRows<{ entry_id: string }>(executor, 'SELECT entry_id FROM ledger_items WHERE entry_id = ANY($1::text[])', [entryIds]);
    return new Set(rows.map((row) => row.entry_id));
  }

  /**
   * Stores a bank line under the name the outputs use: its bankRef, else (or when that name is taken by another
   * line) statementId:lineNo, with #2, #3... when even that repeats; and, in the same statement (one round trip),
   * loads the open ledger entries that could be its partner. `itemRef` is undefined for a line already stored.
   */
  async insertBankItemWithCandidates(
    executor: SqlExecutor,
    item: BankItemRow,
    query: { keys: readonly string[]; amountsMinor: readonly bigint[]; toleranceDays: number },
  ): Promise<{ itemRef: string | undefined; candidates: LedgerItemRecord[] }> {
    const positional = `${item.statementId}:${item.lineNo}`;
    const names = [
      ...(item.bankRef === undefined ? [] : [item.bankRef]),
      positional,
      ...Array.from({ length: ITEM_REF_SUFFIXES_MAX - 1 }, (_, index) => `${positional}#${index + 2}`),
    ];
    const rows = await queryRows<{ item_ref: string | null; candidates: LedgerItemRecord[] }>(
      executor,
      `WITH names AS (SELECT name, ordinal FROM unnest($21::text[]) WITH ORDINALITY AS n (name, ordinal)),
       chosen AS (SELECT name FROM names WHERE NOT EXISTS (SELECT 1 FROM bank_items b WHERE b.item_ref = names.name) ORDER BY ordinal LIMIT 1),
       inserted AS (
         INSERT INTO bank_items (line_id, item_ref, file_id, statement_id, line_no, bank_account, currency, amount_minor, value_date, booking_date,
                                 effective_date, bank_ref, end_to_end_id, customer_ref, bank_tx_code, counterparty_name, remittance, reversal,
                                 transactions, ref_keys, received_at)
         SELECT $1, chosen.name, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18::jsonb, $19::text[], $20 FROM chosen
         ON CONFLICT (line_id) DO NOTHING
         RETURNING item_ref)
       SELECT (SELECT item_ref FROM inserted) AS item_ref,
              (SELECT coalesce(json_agg(c), '[]'::json) FROM (
                 SELECT ${LEDGER_COLUMNS} FROM ledger_items
                  WHERE matched_at IS NULL AND bank_account = $5 AND currency = $6
                    AND (ref_key = ANY($22::text[]) OR batch_ref_key = ANY($22::text[]) OR left(ref_key, 16) = ANY($22::text[]) OR left(ref_key, 35) = ANY($22::text[])
                         OR (amount_minor = ANY($23::numeric[]) AND value_date BETWEEN $10::date - $24::int AND $10::date + $24::int))
                  ORDER BY abs(value_date - $10::date), entry_id
                  LIMIT ${CANDIDATES_MAX}) AS c) AS candidates`,
      [
        item.lineId,
        item.fileId,
        item.statementId,
        item.lineNo,
        item.bankAccount,
        item.currency,
        item.amountMinor.toString(),
        item.valueDate ?? null,
        item.bookingDate ?? null,
        item.effectiveDate,
        item.bankRef ?? null,
        item.endToEndId ?? null,
        item.customerRef ?? null,
        item.bankTxCode ?? null,
        item.counterpartyName ?? null,
        item.remittance ?? null,
        item.reversal,
        item.transactions === undefined ? null : JSON.stringify(item.transactions.map((part) => ({ ...part, amountMinor: part.amountMinor.toString() }))),
        item.refKeys,
        item.receivedAt,
        names,
        query.keys,
        query.amountsMinor.map(String),
        query.toleranceDays,
      ],
    );
    const row = rows[0];
    if (row?.item_ref === null || row?.item_ref === undefined) {
      const stored = await queryRows<{ item_ref: string }>(executor, 'SELECT item_ref FROM bank_items WHERE line_id = $1', [item.lineId]);
      if (stored.length > 0) return { itemRef: undefined, candidates: [] };
      throw new Error(`bank line ${positional} cannot be named: ${names.join(', ')} are all taken`);
    }
    return { itemRef: row.item_ref, candidates: row.candidates.map((candidate) => ({ ...candidate, amount_minor: String(candidate.amount_minor) })) };
  }

  /** Open ledger entries that could pair with a bank line: same account and currency, by reference keys or by amount near its date. */
  async openLedgerCandidates(
    executor: SqlExecutor,
    query: { bankAccount: string; currency: string; keys: readonly string[]; amountsMinor: readonly bigint[]; date: string; toleranceDays: number },
  ): Promise<LedgerItemRecord[]> {
    return queryRows<LedgerItemRecord>(
      executor,
      `SELECT ${LEDGER_COLUMNS} FROM ledger_items
        WHERE matched_at IS NULL AND bank_account = $1 AND currency = $2
          AND (ref_key = ANY($3::text[]) OR batch_ref_key = ANY($3::text[]) OR left(ref_key, 16) = ANY($3::text[]) OR left(ref_key, 35) = ANY($3::text[])
               OR (amount_minor = ANY($4::numeric[]) AND value_date BETWEEN $5::date - $6::int AND $5::date + $6::int))
        ORDER BY abs(value_date - $5::date), entry_id
        LIMIT ${CANDIDATES_MAX}`,
      [query.bankAccount, query.currency, query.keys, query.amountsMinor.map(String), query.date, query.toleranceDays],
    );
  }

  /** Open bank lines that could pair with ledger entries: same account and currency, by reference keys or by amount near the date. */
  async openBankCandidates(
    executor: SqlExecutor,
    query: { bankAccount: string; currency: string; keys: readonly string[]; amountsMinor: readonly bigint[]; date: string; toleranceDays: number },
  ): Promise<BankItemRecord[]> {
    return queryRows<BankItemRecord>(
      executor,
      `SELECT ${BANK_COLUMNS} FROM bank_items
        WHERE matched_at IS NULL AND bank_account = $1 AND currency = $2
          AND (ref_keys && $3::text[]
               OR (amount_minor = ANY($4::numeric[]) AND effective_date BETWEEN $5::date - $6::int AND $5::date + $6::int))
        ORDER BY abs(effective_date - $5::date), item_ref
        LIMIT ${CANDIDATES_MAX}`,
      [query.bankAccount, query.currency, query.keys, query.amountsMinor.map(String), query.date, query.toleranceDays],
    );
  }

  /** Every open item of an account up to a date (plus the tolerance), locked until the run commits. */
  async openItemsForRun(executor: SqlExecutor, bankAccount: string, throughDate: string): Promise<{ ledger: LedgerItemRecord[]; bank: BankItemRecord[] }> {
    const ledger = await queryRows<LedgerItemRecord>(
      executor,
      `SELECT ${LEDGER_COLUMNS} FROM ledger_items WHERE matched_at IS NULL AND bank_account = $1 AND value_date <= $2::date
        ORDER BY entry_id LIMIT ${OPEN_ITEMS_PER_RUN_MAX} FOR UPDATE`,
      [bankAccount, throughDate],
    );
    const bank = await queryRows<BankItemRecord>(
      executor,
      `SELECT ${BANK_COLUMNS} FROM bank_items WHERE matched_at IS NULL AND bank_account = $1 AND effective_date <= $2::date
        ORDER BY item_ref LIMIT ${OPEN_ITEMS_PER_RUN_MAX} FOR UPDATE`,
      [bankAccount, throughDate],
    );
    return { ledger, bank };
  }

  /**
   * Records one match group and closes its items. Every item must still be open: when another transaction
   * matched one of them first, this throws and the caller's transaction rolls back (the consumer retries).
   * Returns the ids of breaks the items were in (a late partner closes them).
   */
  async recordMatch(
    executor: SqlExecutor,
    match: { matchId: string; rule: string; ledger: readonly string[]; bank: readonly string[]; runId?: string; matchedAt: Date },
  ): Promise<string[]> {
    // One statement (one round trip): the match row and both sides' updates; the foreign keys are checked at its end.
    const rows = await queryRows<{ ledger_count: number; bank_count: number; break_ids: string[] }>(
      executor,
      `WITH recorded AS (
         INSERT INTO matches (match_id, rule, ledger_ids, bank_ids, run_id, matched_at) VALUES ($1, $2, $3::text[], $4::text[], $5, $6) RETURNING match_id),
       ledger AS (
         UPDATE ledger_items SET matched_at = $6, match_id = $1 WHERE entry_id = ANY($3::text[]) AND matched_at IS NULL AND EXISTS (SELECT 1 FROM recorded) RETURNING break_id),
       bank AS (
         UPDATE bank_items SET matched_at = $6, match_id = $1 WHERE item_ref = ANY($4::text[]) AND matched_at IS NULL AND EXISTS (SELECT 1 FROM recorded) RETURNING break_id)
       SELECT (SELECT count(*)::int FROM ledger) AS ledger_count, (SELECT count(*)::int FROM bank) AS bank_count,
              ARRAY(SELECT break_id::text FROM ledger WHERE break_id IS NOT NULL UNION SELECT break_id::text FROM bank WHERE break_id IS NOT NULL) AS break_ids`,
      [match.matchId, match.rule, match.ledger, match.bank, match.runId ?? null, match.matchedAt],
    );
    const row = rows[0];
    if (row === undefined || row.ledger_count !== match.ledger.length || row.bank_count !== match.bank.length) {
      throw new ConcurrentMatchError(match.ledger, match.bank);
    }
    return row.break_ids;
  }
}

export class ConcurrentMatchError extends Error {
  constructor(ledger: readonly string[], bank: readonly string[]) {
    super(`items ${[...ledger, ...bank].join(', ')} were matched by another transaction; retrying`);
    this.name = 'ConcurrentMatchError';
  }
}
