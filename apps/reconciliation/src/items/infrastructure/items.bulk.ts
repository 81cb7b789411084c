import { BankColumns, type BankTransactionPart, type ItemMatches, LedgerColumns, type ReconcilePhaseTimer } from '@recon/matching';
import type { SqlExecutor } from '@recon/persistence';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { BinaryCopyWriter } from './copy-binary';
import { readCopy } from './copy-text';

/**
 * The nightly run's bulk access to the item tables: a day of a million items per side is moved with COPY (out as
 * columns, in as rows) and updated set-wise, instead of row objects and statements of a thousand.
 */

/** Open items a full run takes per side and account; a backlog beyond this is matched over several runs. */
export const RUN_OPEN_ITEMS_MAX = 2_000_000;
/**
 * Up to this many claimed items per side are read by primary-key look-ups, more by one join with the item table
 * (`RUN_CLAIM_JOIN_SETTINGS`). The planner cannot know how many rows the claim's DELETE returns (its estimate comes
 * from the open table's last statistics) and hashed the whole item table even for a run that claims a few thousand
 * items. Measured on a million items (work_mem 256 MB): 10,000 claimed 95 ms by look-ups against 413 ms by hash
 * join, 110,000 432 against 644 ms, 1,000,000 3.1 against 2.7 s.
 */
const RUN_CLAIM_BY_LOOKUP_MAX = 200_000;
/**
 * Up to this many claimed items per side are locked (`SELECT ... FOR UPDATE`) and only the matched ones deleted when
 * the run records them; more are deleted at once and the unmatched ones opened again. A run that claims few items is
 * one after a day continuous matching kept up with: nearly all of them stay open, and putting them back cost more
 * than taking them (their candidate GIN entries: 1.3–1.9 s for 22,672 items against a lock of them in 0.1 s). A run
 * that claims many matches most of them, and deleting costs what locking does.
 */
const RUN_CLAIM_BY_LOCK_MAX = 200_000;
/**
 * The join of a big claim to its items, for the claim's statements only: in key order, a merge join of the claimed
 * ids (sorted) with the item table's primary key, read in order. Left to itself the planner hashed the whole ledger
 * item table and then sorted the joined wide rows (measured on 1,071,255 claimed entries, COPY to a file on the
 * server: 6.9 s hashed against 5.2 s merged); the bank side's unique key already led it to the merge join.
 */
const RUN_CLAIM_JOIN_SETTINGS = 'SET LOCAL enable_hashjoin = off';
/** Memory for the run's sorts and hash joins (a million-row join spills to disk at the default 4 MB). */
const RUN_WORK_MEM = '256MB';
/**
 * Statement timeout of the run's transaction from its first bulk statement on: the pool's (30 s by default) suits
 * requests, and one statement over a million items takes seconds, more on a busy machine.
 */
export const RUN_STATEMENT_TIMEOUT_MS = 600_000;
/**
 * Settings of the run's transaction from its first bulk statement on. No JIT: its compilation (0.3 s per statement
 * measured, with inlining and optimisation, which the cost of a million-row statement always triggers) buys nothing
 * for statements that move rows rather than compute. Dates are written in ISO form (`YYYY-MM-DD`, whatever the
 * server's default style), so the claim sends its date columns as they are: `to_char` cost Postgres 0.33 µs more
 * per date (measured: 3,000,000 dates 2.2–2.5 s through `to_char`, 1.4–1.5 s as text), four million dates a claim.
 */
const RUN_SETTINGS = `SET LOCAL work_mem = '${RUN_WORK_MEM}'; SET LOCAL statement_timeout = ${RUN_STATEMENT_TIMEOUT_MS}; SET LOCAL jit = off; SET LOCAL DateStyle = 'ISO'`;

/**
 * The driver's client under an executor: a TypeORM EntityManager of a transaction (its query runner is connected,
 * and `connect()` returns that connection) or a pg client itself. COPY needs it; it is the same connection, so the
 * COPY is part of the caller's transaction.
 */
export async function rawClientOf(executor: SqlExecutor): Promise<PoolClient> {
  const queryRunner = (executor as { queryRunner?: { connect(): Promise<unknown> } }).queryRunner;
  if (queryRunner !== undefined) return (await queryRunner.connect()) as PoolClient;
  if (typeof (executor as { release?: unknown }).release === 'function' || 'connectionParameters' in (executor as object)) return executor as PoolClient;
  throw new Error('the nightly run needs a transaction on a pg connection (COPY)');
}

export interface RunOpenItems {
  /** How the open rows were claimed: deleted (the unmatched are opened again) or locked (the matched are deleted). */
  readonly claim: 'deleted' | 'locked';
  /** Sorted by entry id (code point order, as the engine sorts), locked until the run commits. */
  readonly ledger: LedgerColumns;
  readonly bank: BankColumns;
  /** The date a bank line's grace window counts from (value date, else booking date, else the day it arrived), per line. */
  readonly bankEffectiveDate: readonly string[];
  /** The break each item is in, for the items that are in one (a late partner found by the run closes it). */
  readonly breakOf: { readonly ledger: ReadonlyMap<string, string>; readonly bank: ReadonlyMap<string, string> };
}

const LEDGER_COPY_COLUMNS = `entry_id, bank_account, currency, amount_minor::text, value_date, reference, batch_reference, sub_account,
  description, kind, break_id`;
const BANK_COPY_COLUMNS = `item_ref, statement_id, line_no, bank_account, currency, amount_minor::text, value_date,
  booking_date, effective_date, bank_ref, end_to_end_id, customer_ref, bank_tx_code, counterparty_name,
  remittance, reversal, transactions, break_id`;

/** What a side's claim reads: its open table, its item table and key, the date that picks the day, the columns sent. */
interface ClaimSide {
  readonly open: string;
  readonly items: string;
  readonly key: string;
  readonly date: string;
  readonly columns: string;
}
const LEDGER_CLAIM: ClaimSide = { open: 'ledger_open_items', items: 'ledger_items', key: 'entry_id', date: 'value_date', columns: LEDGER_COPY_COLUMNS };
const BANK_CLAIM: ClaimSide = { open: 'bank_open_items', items: 'bank_items', key: 'item_ref', date: 'effective_date', columns: BANK_COPY_COLUMNS };

/**
 * Claims every open item of an account up to a date (plus the tolerance) for the run: their open rows are locked or
 * deleted (in the run's transaction: until it commits, continuous matching waits on them, and a rollback gives them
 * back), and the items are streamed out of Postgres with COPY straight into the engine's columns, no row object per
 * item; the rows the statement locked or deleted are exactly the items it sends. `recordRunMatches` records what the
 * run matched and leaves the rest open. Up to `lockMax` items a side are locked, more are deleted
 * (`RUN_CLAIM_BY_LOCK_MAX`): deleting an open row costs what locking it does (a delete writes no index entry) and
 * spares the run deleting the matched ones later, but the unmatched ones must then be opened again. Both sides come
 * sorted by id in code point order (COLLATE "C"), which is the engine's own order, so it does not sort them again.
 * More than `limit` open items on a side: the first `limit` by id are claimed. `byLookupMax`: see
 * `RUN_CLAIM_BY_LOOKUP_MAX`.
 */
export async function claimOpenItemColumnsForRun(
  executor: SqlExecutor,
  bankAccount: string,
  throughDate: string,
  limit = RUN_OPEN_ITEMS_MAX,
  byLookupMax = RUN_CLAIM_BY_LOOKUP_MAX,
  lockMax = RUN_CLAIM_BY_LOCK_MAX,
): Promise<RunOpenItems> {
  const client = await rawClientOf(executor);
  await client.query(RUN_SETTINGS);
  const account = client.escapeLiteral(bankAccount);
  const through = client.escapeLiteral(throughDate);
  const chosen = (side: ClaimSide): string => `bank_account = ${account} AND ${side.date} <= ${through}::date`;
  // The first `limit` by id when there are more (a count over the open rows' index spares that sort otherwise).
  const [counted] = (
    await client.query<{ ledger: string; bank: string }>(
      `SELECT (SELECT count(*) FROM ${LEDGER_CLAIM.open} WHERE ${chosen(LEDGER_CLAIM)}) AS ledger,
              (SELECT count(*) FROM ${BANK_CLAIM.open} WHERE ${chosen(BANK_CLAIM)}) AS bank`,
    )
  ).rows;
  const openCounts = [Number(counted?.ledger ?? 0), Number(counted?.bank ?? 0)];
  // One way for both sides, so that the matches are recorded one way.
  const claim = Math.max(Math.min(openCounts[0]!, limit), Math.min(openCounts[1]!, limit)) <= lockMax ? 'locked' : 'deleted';
  const claimSql = (side: ClaimSide, open: number): string => {
    const limited =
      open > limit
        ? `AND ${side.key} IN (SELECT ${side.key} FROM ${side.open} WHERE ${chosen(side)} ORDER BY ${side.key} COLLATE "C" LIMIT ${Number(limit)})`
        : '';
    // The claimed rows joined to their items: per claimed id when few (OFFSET 0 keeps the planner from turning the
    // look-up into a join), else one merge join (`RUN_CLAIM_BY_LOOKUP_MAX`, `RUN_CLAIM_JOIN_SETTINGS`).
    const items =
      Math.min(open, limit) <= byLookupMax
        ? `claimed CROSS JOIN LATERAL (SELECT * FROM ${side.items} item WHERE item.${side.key} = claimed.claimed_id OFFSET 0) AS ${side.items}`
        : `${side.items} JOIN claimed ON ${side.items}.${side.key} = claimed.claimed_id`;
    const claimed =
      claim === 'locked'
        ? `SELECT ${side.key} AS claimed_id FROM ${side.open} WHERE ${chosen(side)} ${limited} FOR UPDATE`
        : `DELETE FROM ${side.open} WHERE ${chosen(side)} ${limited} RETURNING ${side.key} AS claimed_id`;
    return `COPY (WITH claimed AS (${claimed}) SELECT ${side.columns} FROM ${items} ORDER BY ${side.key} COLLATE "C") TO STDOUT`;
  };
  const byJoin = openCounts.some((count) => Math.min(count, limit) > byLookupMax);
  const hashJoin = byJoin ? (await client.query<{ setting: string }>(`SELECT current_setting('enable_hashjoin') AS setting`)).rows[0]!.setting : undefined;
  if (byJoin) await client.query(RUN_CLAIM_JOIN_SETTINGS);
  const ledger = new LedgerColumns();
  const ledgerBreaks = new Map<string, string>();
  await readCopy(client.query(copyTo(claimSql(LEDGER_CLAIM, openCounts[0]!))), 11, (row) => {
    // Straight into the columns (as LedgerColumns.push would store an item whose absent fields are undefined).
    ledger.entryId.push(row.text(0)!);
    ledger.account.push(row.repeated(1)!);
    ledger.currency.push(row.repeated(2)!);
    ledger.amountMinor.push(row.bigint(3));
    ledger.valueDate.push(row.repeated(4)!);
    ledger.reference.push(row.text(5));
    ledger.batchReference.push(row.repeated(6));
    ledger.subAccount.push(row.repeated(7));
    ledger.description.push(row.text(8));
    ledger.kind.push(row.repeated(9));
    ledger.bookingDate.push(undefined);
    if (!row.isNull(10)) ledgerBreaks.set(ledger.entryId[ledger.entryId.length - 1]!, row.text(10)!);
  });
  const bank = new BankColumns();
  const bankBreaks = new Map<string, string>();
  const bankEffectiveDate: string[] = [];
  await readCopy(client.query(copyTo(claimSql(BANK_CLAIM, openCounts[1]!))), 18, (row) => {
    bank.id.push(row.text(0)!);
    bank.statementId.push(row.repeated(1)!);
    bank.lineNo.push(row.int(2));
    bank.account.push(row.repeated(3)!);
    bank.currency.push(row.repeated(4)!);
    bank.amountMinor.push(row.bigint(5));
    bank.valueDate.push(row.repeated(6));
    bank.bookingDate.push(row.repeated(7));
    bankEffectiveDate.push(row.repeated(8)!);
    bank.bankRef.push(row.text(9));
    bank.endToEndId.push(row.text(10));
    bank.customerRef.push(row.text(11));
    bank.bankTxCode.push(row.repeated(12));
    bank.counterpartyName.push(row.repeated(13));
    bank.remittance.push(row.text(14));
    bank.reversal.push(row.isTrue(15));
    bank.transactions.push(row.isNull(16) ? undefined : transactionsOf(row.text(16)!));
    if (!row.isNull(17)) bankBreaks.set(bank.id[bank.id.length - 1]!, row.text(17)!);
  });
  if (hashJoin !== undefined) await client.query(`SELECT set_config('enable_hashjoin', $1, true)`, [hashJoin]);
  return { claim, ledger, bank, bankEffectiveDate, breakOf: { ledger: ledgerBreaks, bank: bankBreaks } };
}

/** A batch line's itemised parts as stored (amounts as decimal strings of minor units), as `engineBankItemOf` reads them. */
function transactionsOf(json: string): BankTransactionPart[] {
  return (JSON.parse(json) as { amountMinor: string; endToEndId?: string; remittance?: string }[]).map((part) => ({
    amountMinor: BigInt(part.amountMinor),
    ...(part.endToEndId === undefined ? {} : { endToEndId: part.endToEndId }),
    ...(part.remittance === undefined ? {} : { remittance: part.remittance }),
  }));
}

export interface RunMatch {
  readonly rule: string;
  readonly ledger: readonly string[];
  readonly bank: readonly string[];
}

/**
 * Records a run's match groups over the items `claimOpenItemColumnsForRun` claimed, set-wise: the match rows with
 * one binary COPY (`copy-binary.ts`: nothing for the server to parse), each side's (item, match) pairs with one more
 * into the item-match table (migration 0012), in key order;
 * the matched items' open rows are deleted (a claim that locked them) or the claimed items no match took are open
 * again (a claim that deleted them). `itemMatches` (the engine's, `reconcile(..., { itemMatches: true })`)
 * names per claimed item, in the claimed order, the index of its match or -1: no map of a million ids is built.
 * Checked on the way: every item a match lists points at it, and no other (so every match's items were claimed and
 * each is in one match); else this throws. A pair recorded already is refused by the item-match table's key. On any
 * error the caller's transaction rolls back. `open.breakOf` names the breaks the items were in; returns, per match
 * id, the ids of those breaks (a late partner closes them); only matches with such a break are listed.
 * `alongsidePairs`: the caller's work that can go on while Postgres stores the pairs (this thread waits on it
 * there): started once the match rows are stored, and settled before this returns or throws (a failure of the pairs
 * first, else its own).
 */
export async function recordRunMatches(
  executor: SqlExecutor,
  open: RunOpenItems,
  matches: readonly RunMatch[],
  itemMatches: ItemMatches,
  matchIds: readonly string[],
  recorded: { runId: string; matchedAt: Date },
  phases?: ReconcilePhaseTimer,
  alongsidePairs?: () => Promise<void>,
): Promise<Map<string, string[]>> {
  if (matchIds.length !== matches.length) throw new Error('recordRunMatches: one match id per match');
  if (itemMatches.ledger.length !== open.ledger.length || itemMatches.bank.length !== open.bank.length)
    throw new Error('recordRunMatches: one match index per claimed item');
  const client = await rawClientOf(executor);
  await client.query(RUN_SETTINGS);
  if (matches.length > 0) {
    const { runId, matchedAt } = recorded;
    await copyInto(client, 'COPY matches (match_id, rule, ledger_ids, bank_ids, run_id, matched_at) FROM STDIN WITH (FORMAT binary)', async (writer) => {
      for (let index = 0; index < matches.length; index += 1) {
        const match = matches[index]!;
        writer.row(6).uuid(matchIds[index]!).text(match.rule).textArray(match.ledger).textArray(match.bank).uuid(runId).timestamptz(matchedAt);
        if (writer.full) await writer.flush();
      }
    });
    phases?.phase('write matches: COPY matches');
  }
  // Per match the breaks its items were in (a late partner closes them).
  const breakSets = new Map<number, Set<string>>();
  // Each side's pairs straight into its table in key order (the claimed ids come sorted): the primary key's B-tree
  // is filled page after page instead of at a random leaf per pair (measured on a million pairs: 3.4 s against
  // 8.3 s). The claimed items no match took are collected on the way, to be opened again.
  const sides = [
    {
      table: 'ledger_item_matches',
      key: 'entry_id',
      ids: open.ledger.entryId,
      matchOf: itemMatches.ledger,
      breakOf: open.breakOf.ledger,
      side: 'ledger',
      reopen: 'reopen_ledger_items',
      open: LEDGER_CLAIM.open,
    },
    {
      table: 'bank_item_matches',
      key: 'item_ref',
      ids: open.bank.id,
      matchOf: itemMatches.bank,
      breakOf: open.breakOf.bank,
      side: 'bank',
      reopen: 'reopen_bank_items',
      open: BANK_CLAIM.open,
    },
  ] as const;
  const locked = open.claim === 'locked';
  const storePairs = async (): Promise<void> => {
    for (const side of sides) {
      // The claimed items no match took (a deleting claim opens them again), or those one took (a locking claim
      // deletes their open rows).
      const unmatched: string[] = [];
      const matched: string[] = [];
      const pointing = new Int32Array(matches.length);
      const write = async (writer?: BinaryCopyWriter): Promise<void> => {
        for (let item = 0; item < side.ids.length; item += 1) {
          const id = side.ids[item]!;
          const index = side.matchOf[item]!;
          if (index === -1) {
            if (!locked) unmatched.push(id);
            continue;
          }
          if (locked) matched.push(id);
          const listed = matches[index]?.[side.side];
          if (listed === undefined || (listed.length === 1 ? listed[0] !== id : !listed.includes(id)))
            throw new Error(`recordRunMatches: ${side.side} item ${id} points at match ${index}, which does not list it`);
          pointing[index] = pointing[index]! + 1;
          if (side.breakOf.size > 0) {
            const breakId = side.breakOf.get(id);
            if (breakId !== undefined) {
              const breakIds = breakSets.get(index);
              if (breakIds === undefined) breakSets.set(index, new Set([breakId]));
              else breakIds.add(breakId);
            }
          }
          writer!.row(2).text(id).uuid(matchIds[index]!);
          if (writer!.full) await writer!.flush();
        }
      };
      if (matches.length > 0) await copyInto(client, `COPY ${side.table} (${side.key}, match_id) FROM STDIN WITH (FORMAT binary)`, write);
      else await write();
      for (let index = 0; index < matches.length; index += 1) {
        if (pointing[index] !== matches[index]![side.side].length)
          throw new Error(`recordRunMatches: match ${index} lists ${side.side} items the run did not claim, or that point elsewhere`);
      }
      phases?.phase(`write matches: ${side.table}`);
      if (locked) {
        // Every matched item's open row is held by this run's lock: one missing would be an item matched twice.
        const deleted = await client.query(`DELETE FROM ${side.open} USING unnest($1::text[]) AS x (id) WHERE ${side.open}.${side.key} = x.id`, [matched]);
        if (deleted.rowCount !== matched.length)
          throw new Error(`recordRunMatches: ${matched.length - (deleted.rowCount ?? 0)} matched ${side.side} items were no longer open`);
        phases?.phase(`write matches: close matched (${side.table})`);
      } else {
        await client.query(`SELECT ${side.reopen}($1::text[])`, [unmatched]);
        phases?.phase(`write matches: reopen unmatched (${side.table})`);
      }
    }
  };
  // Both settle before this returns or throws: no work of the run goes on (on its connection or beside it) after.
  const [pairs, alongside] = await Promise.allSettled([storePairs(), alongsidePairs?.()]);
  if (pairs.status === 'rejected') throw pairs.reason;
  if (alongside.status === 'rejected') throw alongside.reason;
  const breaksOfMatch = new Map<string, string[]>();
  for (const [index, breakIds] of [...breakSets].sort(([a], [b]) => a - b)) breaksOfMatch.set(matchIds[index]!.toLowerCase(), [...breakIds]);
  return breaksOfMatch;
}

/** Rows written by `write` to a binary COPY ... FROM STDIN on the run's connection; the COPY is abandoned if it throws. */
async function copyInto(client: PoolClient, sql: string, write: (writer: BinaryCopyWriter) => Promise<void>): Promise<void> {
  const writer = new BinaryCopyWriter(client.query(copyFrom(sql)));
  try {
    await write(writer);
    await writer.end();
  } catch (error) {
    writer.abort(error);
    throw error;
  }
}
