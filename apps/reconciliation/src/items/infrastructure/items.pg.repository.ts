import { queryRows, type SqlExecutor } from '@recon/persistence';
import type { BankItemRecord, BankItemRow, CustodyAccountRef, LedgerItemRecord, LedgerItemRow } from '../domain/recon-items';
import type { IdSet } from '../domain/id-set';
import { to as copyTo } from 'pg-copy-streams';
import { readCopyIdSet } from './copy-text';
import { rawClientOf } from './items.bulk';

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

/** SQL expressions (placeholders or columns of a lateral row) of one candidate lookup. */
interface CandidateSqlInputs {
  readonly account: string;
  readonly currency: string;
  readonly keys: string;
  readonly amounts: string;
  readonly date: string;
  readonly toleranceDays: string;
  readonly limit: string;
}

/**
 * The open ledger entries that could pair with a bank line: same account and currency, sharing a reference key
 * (`lookup_keys`: reference, batch reference, 16/35-character prefixes) or the same amount within the tolerance of
 * its date; the nearest value date first. The lookups read the open items (`ledger_open_items`, migration 0012),
 * one branch per index, each with only its index's criteria (the account and currency, and the date window of an
 * amount's match, are checked after the union, behind OFFSET 0 so that the planner does not push them back into
 * the branches; the amount indexes lead with the amount). A fresh table has no statistics, and one OR over all
 * criteria was planned as a scan of the account's whole day (seconds per batch). The nearest `limit` are then
 * read from the item table by primary key.
 */
function ledgerCandidatesSql(p: CandidateSqlInputs): string {
  return candidatesSql(
    { open: 'ledger_open_items', items: 'ledger_items', key: 'entry_id', date: 'value_date', keys: 'lookup_keys', columns: LEDGER_COLUMNS },
    p,
  );
}

/** The open bank lines that could pair with ledger entries: by reference keys or by amount near the date (as ledgerCandidatesSql). */
function bankCandidatesSql(p: CandidateSqlInputs): string {
  return candidatesSql({ open: 'bank_open_items', items: 'bank_items', key: 'item_ref', date: 'effective_date', keys: 'ref_keys', columns: BANK_COLUMNS }, p);
}

/** One side's candidate lookup (ledgerCandidatesSql): its open table, item table and key, date and key columns. */
function candidatesSql(side: { open: string; items: string; key: string; date: string; keys: string; columns: string }, p: CandidateSqlInputs): string {
  return `SELECT item.* FROM (
      SELECT ${side.key}, abs(sort_date - ${p.date}) AS distance FROM (
              SELECT ${side.key}, bank_account, currency, ${side.date} AS sort_date, true AS wanted FROM ${side.open} WHERE ${side.keys} && ${p.keys}
        UNION SELECT ${side.key}, bank_account, currency, ${side.date}, ${side.date} BETWEEN ${p.date} - ${p.toleranceDays} AND ${p.date} + ${p.toleranceDays}
                FROM ${side.open} WHERE amount_minor = ANY(${p.amounts})
        OFFSET 0) AS candidate
      WHERE wanted AND bank_account = ${p.account} AND currency = ${p.currency}
      ORDER BY distance, ${side.key} LIMIT ${p.limit}) AS nearest
    CROSS JOIN LATERAL (SELECT ${side.columns} FROM ${side.items} WHERE ${side.items}.${side.key} = nearest.${side.key}) AS item
    ORDER BY nearest.distance, nearest.${side.key}`;
}

/**
 * Lock buckets the item keys fall into. A batch of items locks each of its keys' buckets (at most this many advisory
 * locks per transaction, whatever the batch size: Postgres's shared lock table holds only max_locks_per_transaction
 * x max_connections locks). Two items sharing a key always share its bucket; items that only share a bucket are
 * serialised for nothing, which costs time, never correctness.
 */
export const MATCH_LOCK_BUCKETS = 512;

/**
 * Serialises the transactions that could pair the same items: every item locks its amount (when amounts must
 * agree exactly) and its reference keys, so an item and its partner arriving at the same moment on two
 * consumers never both miss each other. Locks are taken in one sorted statement, so two items never deadlock on them.
 */
export async function lockMatchKeys(executor: SqlExecutor, keys: readonly string[]): Promise<void> {
  await lockMatchKeySets(executor, [keys]);
}

/**
 * The locks of a whole batch of items (each item's keys bounded as for one item), in one sorted statement. The lock
 * ids are per schema (hashtextextended of schema and bucket), so that isolated test and benchmark schemas sharing
 * the database do not serialise each other.
 */
export async function lockMatchKeySets(executor: SqlExecutor, keySets: readonly (readonly string[])[]): Promise<void> {
  const buckets = [...new Set(keySets.flatMap((keys) => keys.slice(0, MATCH_LOCKS_MAX)).map(lockBucketOf))];
  if (buckets.length === 0) return;
  await executor.query(
    `SELECT count(pg_advisory_xact_lock(id)) FROM (
       SELECT DISTINCT hashtextextended(current_schema() || ':recon-match:' || b, 0) AS id FROM unnest($1::int[]) AS b ORDER BY id) AS sorted`,
    [buckets],
  );
}

/** One run per account at a time (its own lock, outside the item buckets). */
export async function lockRunOf(executor: SqlExecutor, bankAccount: string): Promise<void> {
  await executor.query(`SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':recon-run:' || $1, 0))`, [bankAccount]);
}

/**
 * FNV-1a over the key's UTF-16 code units: spreads keys evenly enough over the buckets at a fraction of a
 * cryptographic hash's cost (nothing here needs one). Every instance must bucket alike: instances of two versions
 * with different bucket functions, side by side during a deploy, could miss a partner arriving at the same moment
 * (it then waits, pending, for the grace sweep or the nightly run's full matching: late, never lost).
 */
function lockBucketOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index += 1) hash = Math.imul(hash ^ key.charCodeAt(index), 0x01000193);
  return (hash >>> 0) % MATCH_LOCK_BUCKETS;
}

/** What one new item looks for on the other side: same account and currency, a shared key, or the same amount near its date. */
export interface CandidateQuery {
  readonly bankAccount: string;
  readonly currency: string;
  readonly keys: readonly string[];
  readonly amountsMinor: readonly bigint[];
  readonly date: string;
}

/** Matches recorded by one statement (a nightly run's may be many more). */
export const MATCHES_PER_STATEMENT_MAX = 1_000;

function candidateQueriesJson(queries: readonly CandidateQuery[]): string {
  return JSON.stringify(
    queries.map((query, index) => ({
      idx: index,
      bank_account: query.bankAccount,
      currency: query.currency,
      keys: query.keys,
      amounts: query.amountsMinor.map(String),
      date: query.date,
    })),
  );
}

function groupByIndex<T extends { idx: number }>(rows: readonly T[], count: number): Omit<T, 'idx'>[][] {
  const groups: Omit<T, 'idx'>[][] = Array.from({ length: count }, () => []);
  for (const { idx, ...rest } of rows) groups[idx]!.push(rest);
  return groups;
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

  /** The custody accounts among these ids that are known, in one statement. */
  async custodyAccounts(executor: SqlExecutor, accountIds: readonly string[]): Promise<Map<string, CustodyAccountRef>> {
    if (accountIds.length === 0) return new Map();
    const rows = await queryRows<{ account_id: string; bank_account: string; currency: string }>(
      executor,
      'SELECT account_id, bank_account, currency FROM custody_accounts WHERE account_id = ANY($1::text[])',
      [accountIds],
    );
    return new Map(rows.map((row) => [row.account_id, { bankAccount: row.bank_account, currency: row.currency }]));
  }

  /** Inserts the items not stored yet; returns the ids actually inserted. `receivedAt` is one for all, or one per item. */
  async insertLedgerItems(
    executor: SqlExecutor,
    items: readonly LedgerItemRow[],
    source: 'event' | 'export',
    receivedAt: string | readonly string[],
    note?: string,
  ): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    if (typeof receivedAt !== 'string' && receivedAt.length !== items.length) throw new Error('insertLedgerItems: one receivedAt per item, or one for all');
    const rows = await queryRows<{ entry_id: string }>(
      executor,
      `INSERT INTO ledger_items (entry_id, bank_account, currency, amount_minor, value_date, reference, ref_key, batch_ref_key, sub_account,
                                 description, kind, batch_reference, source, note, received_at)
       SELECT t.entry_id, t.bank_account, t.currency, t.amount_minor, t.value_date, t.reference, t.ref_key, t.batch_ref_key, t.sub_account,
              t.description, t.kind, t.batch_reference, $13::text, $14::text, t.received_at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::date[], $6::text[], $7::text[], $8::text[], $9::text[],
                     $10::text[], $11::text[], $12::text[], $15::timestamptz[])
              AS t (entry_id, bank_account, currency, amount_minor, value_date, reference, ref_key, batch_ref_key, sub_account, description, kind,
                    batch_reference, received_at)
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
        typeof receivedAt === 'string' ? items.map(() => receivedAt) : receivedAt,
      ],
    );
    return new Set(rows.map((row) => row.entry_id));
  }

  /**
   * The ids of the account's ledger entries with value dates in [from, to]: one index range, not one probe per id,
   * sent with COPY and kept as the bytes that came (a day is a million of them; `IdSet`). COPY takes no bind
   * parameters: the values go in as literals escaped by the driver.
   */
  async ledgerEntryIdsOfDays(executor: SqlExecutor, bankAccount: string, from: string, to: string): Promise<IdSet> {
    const client = await rawClientOf(executor);
    const [account, first, last] = [bankAccount, from, to].map((value) => client.escapeLiteral(value));
    return readCopyIdSet(
      client.query(
        copyTo(`COPY (SELECT entry_id FROM ledger_items WHERE bank_account = ${account} AND value_date BETWEEN ${first}::date AND ${last}::date) TO STDOUT`),
      ),
    );
  }

  /** The ids of the account's bank lines whose effective date (value date, else booking date, else arrival) is `date`. */
  async bankLineIdsOfDay(executor: SqlExecutor, bankAccount: string, date: string): Promise<IdSet> {
    const client = await rawClientOf(executor);
    const [account, day] = [bankAccount, date].map((value) => client.escapeLiteral(value));
    return readCopyIdSet(
      client.query(copyTo(`COPY (SELECT line_id FROM bank_items WHERE bank_account = ${account} AND effective_date = ${day}::date) TO STDOUT`)),
    );
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
                 ${ledgerCandidatesSql({ account: '$5', currency: '$6', keys: '$22::text[]', amounts: '$23::numeric[]', date: '$10::date', toleranceDays: '$24::int', limit: String(CANDIDATES_MAX) })}
               ) AS c) AS candidates`,
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

  /**
   * Stores a batch of bank lines (one statement to learn which names and lines exist, one to insert), each under
   * the name the outputs use: its bankRef, else (or when that name is taken, by a stored line or an earlier line
   * of the batch) statementId:lineNo, with #2, #3... when even that repeats. Returns line id -> name of the lines
   * inserted; a line already stored (a redelivery under another message id) is left out.
   */
  async insertBankItems(executor: SqlExecutor, items: readonly BankItemRow[]): Promise<Map<string, string>> {
    if (items.length === 0) return new Map();
    const preferredNamesOf = (item: BankItemRow): string[] => [...(item.bankRef === undefined ? [] : [item.bankRef]), `${item.statementId}:${item.lineNo}`];
    const namesOf = (item: BankItemRow): string[] => [
      ...preferredNamesOf(item),
      ...Array.from({ length: ITEM_REF_SUFFIXES_MAX - 1 }, (_, index) => `${item.statementId}:${item.lineNo}#${index + 2}`),
    ];
    const [existing] = await queryRows<{ taken: string[]; stored: string[] }>(
      executor,
      `SELECT ARRAY(SELECT item_ref FROM bank_items WHERE item_ref = ANY($1::text[])) AS taken,
              ARRAY(SELECT line_id::text FROM bank_items WHERE line_id = ANY($2::uuid[])) AS stored`,
      [[...new Set(items.flatMap(preferredNamesOf))], items.map((item) => item.lineId)],
    );
    const taken = new Set(existing?.taken ?? []);
    const stored = new Set(existing?.stored ?? []);
    // The #2.. names are looked up only for lines whose own names are taken, or that share their position with another
    // line of the batch (a line repeated under a new id: rare).
    const positions = new Map<string, number>();
    for (const item of items) positions.set(`${item.statementId}:${item.lineNo}`, (positions.get(`${item.statementId}:${item.lineNo}`) ?? 0) + 1);
    const crowded = items.filter((item) => positions.get(`${item.statementId}:${item.lineNo}`)! > 1 || preferredNamesOf(item).every((name) => taken.has(name)));
    if (crowded.length > 0) {
      const more = await queryRows<{ item_ref: string }>(executor, 'SELECT item_ref FROM bank_items WHERE item_ref = ANY($1::text[])', [
        crowded.flatMap((item) => namesOf(item).slice(preferredNamesOf(item).length)),
      ]);
      for (const row of more) taken.add(row.item_ref);
    }
    const named: { item: BankItemRow; itemRef: string }[] = [];
    for (const item of items) {
      if (stored.has(item.lineId.toLowerCase())) continue;
      stored.add(item.lineId.toLowerCase());
      const names = namesOf(item);
      const itemRef = names.find((name) => !taken.has(name));
      if (itemRef === undefined) throw new Error(`bank line ${item.statementId}:${item.lineNo} cannot be named: ${names.join(', ')} are all taken`);
      taken.add(itemRef);
      named.push({ item, itemRef });
    }
    if (named.length === 0) return new Map();
    const rows = await queryRows<{ line_id: string; item_ref: string }>(
      executor,
      `INSERT INTO bank_items (line_id, item_ref, file_id, statement_id, line_no, bank_account, currency, amount_minor, value_date, booking_date,
                               effective_date, bank_ref, end_to_end_id, customer_ref, bank_tx_code, counterparty_name, remittance, reversal,
                               transactions, ref_keys, received_at)
       SELECT line_id, item_ref, file_id, statement_id, line_no, bank_account, currency, amount_minor, value_date, booking_date, effective_date, bank_ref,
              end_to_end_id, customer_ref, bank_tx_code, counterparty_name, remittance, reversal, transactions, ref_keys, received_at
         FROM jsonb_to_recordset($1::jsonb) AS r (line_id uuid, item_ref text, file_id uuid, statement_id text, line_no int, bank_account text, currency text,
              amount_minor numeric, value_date date, booking_date date, effective_date date, bank_ref text, end_to_end_id text, customer_ref text,
              bank_tx_code text, counterparty_name text, remittance text, reversal boolean, transactions jsonb, ref_keys text[], received_at timestamptz)
       ON CONFLICT (line_id) DO NOTHING
       RETURNING line_id::text AS line_id, item_ref`,
      [
        JSON.stringify(
          named.map(({ item, itemRef }) => ({
            line_id: item.lineId,
            item_ref: itemRef,
            file_id: item.fileId,
            statement_id: item.statementId,
            line_no: item.lineNo,
            bank_account: item.bankAccount,
            currency: item.currency,
            amount_minor: item.amountMinor.toString(),
            value_date: item.valueDate ?? null,
            booking_date: item.bookingDate ?? null,
            effective_date: item.effectiveDate,
            bank_ref: item.bankRef ?? null,
            end_to_end_id: item.endToEndId ?? null,
            customer_ref: item.customerRef ?? null,
            bank_tx_code: item.bankTxCode ?? null,
            counterparty_name: item.counterpartyName ?? null,
            remittance: item.remittance ?? null,
            reversal: item.reversal,
            transactions: item.transactions === undefined ? null : item.transactions.map((part) => ({ ...part, amountMinor: part.amountMinor.toString() })),
            ref_keys: item.refKeys,
            received_at: item.receivedAt,
          })),
        ),
      ],
    );
    const insertedRefs = new Map(rows.map((row) => [row.line_id, row.item_ref]));
    return new Map(
      named.flatMap(({ item }) => (insertedRefs.has(item.lineId.toLowerCase()) ? [[item.lineId, insertedRefs.get(item.lineId.toLowerCase())!]] : [])),
    );
  }

  /**
   * For each query, the open ledger entries that could pair with that bank line (as `openLedgerCandidates`), all in
   * one statement; `limit` per query, nearest value date first.
   */
  async openLedgerCandidatesOf(executor: SqlExecutor, queries: readonly CandidateQuery[], toleranceDays: number, limit: number): Promise<LedgerItemRecord[][]> {
    if (queries.length === 0) return [];
    const rows = await queryRows<LedgerItemRecord & { idx: number }>(
      executor,
      `SELECT q.idx, c.* FROM jsonb_to_recordset($1::jsonb) AS q (idx int, bank_account text, currency char(3), keys text[], amounts numeric[], date date)
       CROSS JOIN LATERAL (
         ${ledgerCandidatesSql({ account: 'q.bank_account', currency: 'q.currency', keys: 'q.keys', amounts: 'q.amounts', date: 'q.date', toleranceDays: '$2::int', limit: '$3' })}) AS c
       ORDER BY q.idx`,
      [candidateQueriesJson(queries), toleranceDays, limit],
    );
    return groupByIndex(rows, queries.length);
  }

  /** For each query, the open bank lines that could pair with that ledger entry (as `openBankCandidates`), all in one statement. */
  async openBankCandidatesOf(executor: SqlExecutor, queries: readonly CandidateQuery[], toleranceDays: number, limit: number): Promise<BankItemRecord[][]> {
    if (queries.length === 0) return [];
    const rows = await queryRows<BankItemRecord & { idx: number }>(
      executor,
      `SELECT q.idx, c.* FROM jsonb_to_recordset($1::jsonb) AS q (idx int, bank_account text, currency char(3), keys text[], amounts numeric[], date date)
       CROSS JOIN LATERAL (
         ${bankCandidatesSql({ account: 'q.bank_account', currency: 'q.currency', keys: 'q.keys', amounts: 'q.amounts', date: 'q.date', toleranceDays: '$2::int', limit: '$3' })}) AS c
       ORDER BY q.idx`,
      [candidateQueriesJson(queries), toleranceDays, limit],
    );
    return groupByIndex(rows, queries.length);
  }

  /** Open ledger entries that could pair with a bank line: same account and currency, by reference keys or by amount near its date. */
  async openLedgerCandidates(
    executor: SqlExecutor,
    query: CandidateQuery & { toleranceDays: number },
    limit: number = CANDIDATES_MAX,
  ): Promise<LedgerItemRecord[]> {
    return queryRows<LedgerItemRecord>(executor, ledgerCandidatesSql(SINGLE_CANDIDATE_QUERY_PARAMETERS), candidateParametersOf(query, limit));
  }

  /** Open bank lines that could pair with ledger entries: same account and currency, by reference keys or by amount near the date. */
  async openBankCandidates(
    executor: SqlExecutor,
    query: CandidateQuery & { toleranceDays: number },
    limit: number = CANDIDATES_MAX,
  ): Promise<BankItemRecord[]> {
    return queryRows<BankItemRecord>(executor, bankCandidatesSql(SINGLE_CANDIDATE_QUERY_PARAMETERS), candidateParametersOf(query, limit));
  }

  /** Every open item of an account up to a date (plus the tolerance), locked until the run commits. */
  async openItemsForRun(executor: SqlExecutor, bankAccount: string, throughDate: string): Promise<{ ledger: LedgerItemRecord[]; bank: BankItemRecord[] }> {
    const ledger = await queryRows<LedgerItemRecord>(
      executor,
      `SELECT ${LEDGER_COLUMNS} FROM ledger_items WHERE entry_id IN (
         SELECT entry_id FROM ledger_open_items WHERE bank_account = $1 AND value_date <= $2::date ORDER BY entry_id LIMIT ${OPEN_ITEMS_PER_RUN_MAX} FOR UPDATE)
        ORDER BY entry_id`,
      [bankAccount, throughDate],
    );
    const bank = await queryRows<BankItemRecord>(
      executor,
      `SELECT ${BANK_COLUMNS} FROM bank_items WHERE item_ref IN (
         SELECT item_ref FROM bank_open_items WHERE bank_account = $1 AND effective_date <= $2::date ORDER BY item_ref LIMIT ${OPEN_ITEMS_PER_RUN_MAX} FOR UPDATE)
        ORDER BY item_ref`,
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
    // One statement (one round trip): the match row, both sides' open rows deleted and their (item, match) pairs
    // recorded; the pairs' references to the match are checked at its end (migrations 0010, 0012).
    const rows = await queryRows<{ ledger_count: number; bank_count: number; break_ids: string[] }>(
      executor,
      `WITH recorded AS (
         INSERT INTO matches (match_id, rule, ledger_ids, bank_ids, run_id, matched_at) VALUES ($1, $2, $3::text[], $4::text[], $5, $6) RETURNING match_id),
       ledger AS (DELETE FROM ledger_open_items WHERE entry_id = ANY($3::text[]) AND EXISTS (SELECT 1 FROM recorded) RETURNING entry_id),
       bank AS (DELETE FROM bank_open_items WHERE item_ref = ANY($4::text[]) AND EXISTS (SELECT 1 FROM recorded) RETURNING item_ref),
       ledger_pairs AS (INSERT INTO ledger_item_matches (entry_id, match_id) SELECT entry_id, $1 FROM ledger),
       bank_pairs AS (INSERT INTO bank_item_matches (item_ref, match_id) SELECT item_ref, $1 FROM bank)
       SELECT (SELECT count(*)::int FROM ledger) AS ledger_count, (SELECT count(*)::int FROM bank) AS bank_count,
              ARRAY(SELECT l.break_id::text FROM ledger JOIN ledger_items l USING (entry_id) WHERE l.break_id IS NOT NULL
                    UNION SELECT b.break_id::text FROM bank JOIN bank_items b USING (item_ref) WHERE b.break_id IS NOT NULL) AS break_ids`,
      [match.matchId, match.rule, match.ledger, match.bank, match.runId ?? null, match.matchedAt],
    );
    const row = rows[0];
    if (row === undefined || row.ledger_count !== match.ledger.length || row.bank_count !== match.bank.length) {
      throw new ConcurrentMatchError(match.ledger, match.bank);
    }
    return row.break_ids;
  }

  /**
   * Records match groups and closes their items, `MATCHES_PER_STATEMENT_MAX` groups per statement. Every item must
   * still be open: when another transaction matched one of them first, this throws and the caller's transaction
   * rolls back (the consumer retries). Returns, per match id, the ids of the breaks its items were in.
   */
  async recordMatches(
    executor: SqlExecutor,
    matches: readonly { matchId: string; rule: string; ledger: readonly string[]; bank: readonly string[] }[],
    recorded: { runId?: string; matchedAt: Date },
  ): Promise<Map<string, string[]>> {
    const breaksOfMatch = new Map<string, string[]>();
    for (let start = 0; start < matches.length; start += MATCHES_PER_STATEMENT_MAX) {
      const chunk = matches.slice(start, start + MATCHES_PER_STATEMENT_MAX);
      const ledgerSides = chunk.flatMap((match) => match.ledger.map((entryId) => [entryId, match.matchId] as const));
      const bankSides = chunk.flatMap((match) => match.bank.map((itemRef) => [itemRef, match.matchId] as const));
      // The deletes join arrays (whose length the planner knows) to the primary keys: index lookups, whatever the table size.
      const rows = await queryRows<{ side: 'ledger' | 'bank'; match_id: string; break_id: string | null }>(
        executor,
        `WITH recorded AS (
           INSERT INTO matches (match_id, rule, ledger_ids, bank_ids, run_id, matched_at)
           SELECT match_id, rule, ledger_ids, bank_ids, $2, $3
             FROM jsonb_to_recordset($1::jsonb) AS m (match_id uuid, rule text, ledger_ids text[], bank_ids text[])
           RETURNING match_id),
         ledger AS (
           DELETE FROM ledger_open_items o USING unnest($4::text[], $5::uuid[]) AS x (entry_id, match_id)
            WHERE o.entry_id = x.entry_id AND EXISTS (SELECT 1 FROM recorded)
           RETURNING x.entry_id, x.match_id),
         bank AS (
           DELETE FROM bank_open_items o USING unnest($6::text[], $7::uuid[]) AS x (item_ref, match_id)
            WHERE o.item_ref = x.item_ref AND EXISTS (SELECT 1 FROM recorded)
           RETURNING x.item_ref, x.match_id),
         ledger_pairs AS (INSERT INTO ledger_item_matches (entry_id, match_id) SELECT entry_id, match_id FROM ledger),
         bank_pairs AS (INSERT INTO bank_item_matches (item_ref, match_id) SELECT item_ref, match_id FROM bank)
         SELECT 'ledger' AS side, ledger.match_id::text AS match_id, l.break_id::text AS break_id FROM ledger JOIN ledger_items l USING (entry_id)
         UNION ALL SELECT 'bank', bank.match_id::text, b.break_id::text FROM bank JOIN bank_items b USING (item_ref)`,
        [
          JSON.stringify(chunk.map((match) => ({ match_id: match.matchId, rule: match.rule, ledger_ids: match.ledger, bank_ids: match.bank }))),
          recorded.runId ?? null,
          recorded.matchedAt,
          ledgerSides.map(([entryId]) => entryId),
          ledgerSides.map(([, matchId]) => matchId),
          bankSides.map(([itemRef]) => itemRef),
          bankSides.map(([, matchId]) => matchId),
        ],
      );
      const closed = new Map<string, { ledger: number; bank: number; breakIds: Set<string> }>();
      for (const row of rows) {
        const counts = closed.get(row.match_id) ?? { ledger: 0, bank: 0, breakIds: new Set<string>() };
        counts[row.side] += 1;
        if (row.break_id !== null) counts.breakIds.add(row.break_id);
        closed.set(row.match_id, counts);
      }
      for (const match of chunk) {
        const counts = closed.get(match.matchId.toLowerCase());
        if (counts === undefined || counts.ledger !== match.ledger.length || counts.bank !== match.bank.length) {
          throw new ConcurrentMatchError(match.ledger, match.bank);
        }
        breaksOfMatch.set(match.matchId, [...counts.breakIds]);
      }
    }
    return breaksOfMatch;
  }
}

export class ConcurrentMatchError extends Error {
  constructor(ledger: readonly string[], bank: readonly string[]) {
    super(`items ${[...ledger, ...bank].join(', ')} were matched by another transaction; retrying`);
    this.name = 'ConcurrentMatchError';
  }
}

const SINGLE_CANDIDATE_QUERY_PARAMETERS = {
  account: '$1',
  currency: '$2',
  keys: '$3::text[]',
  amounts: '$4::numeric[]',
  date: '$5::date',
  toleranceDays: '$6::int',
  limit: '$7',
};

function candidateParametersOf(query: CandidateQuery & { toleranceDays: number }, limit: number): unknown[] {
  return [query.bankAccount, query.currency, query.keys, query.amountsMinor.map(String), query.date, query.toleranceDays, limit];
}
