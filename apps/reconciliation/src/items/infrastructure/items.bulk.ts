import { BankColumns, type BankTransactionPart, LedgerColumns, type ReconcilePhaseTimer } from '@recon/matching';
import type { SqlExecutor } from '@recon/persistence';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { copyField, readCopy, textArrayField, writeCopy } from './copy-text';
import { ConcurrentMatchError } from './items.pg.repository';

/**
 * The nightly run's bulk access to the item tables: a day of a million items per side is moved with COPY (out as
 * columns, in as rows) and updated set-wise, instead of row objects and statements of a thousand.
 */

/** Open items a full run takes per side and account; a backlog beyond this is matched over several runs. */
export const RUN_OPEN_ITEMS_MAX = 2_000_000;
/** Memory for the run's sorts and hash joins (a million-row join spills to disk at the default 4 MB). */
const RUN_WORK_MEM = '256MB';
/**
 * Statement timeout of the run's transaction from its first bulk statement on: the pool's (30 s by default) suits
 * requests, and updating a million bank items measured 25-30 s on the shared development machine.
 */
export const RUN_STATEMENT_TIMEOUT_MS = 600_000;

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
  /** Sorted by entry id (code point order, as the engine sorts), locked until the run commits. */
  readonly ledger: LedgerColumns;
  readonly bank: BankColumns;
  /** The date a bank line's grace window counts from (value date, else booking date, else the day it arrived), per line. */
  readonly bankEffectiveDate: readonly string[];
  /** The break each item is in, for the items that are in one (a late partner found by the run closes it). */
  readonly breakOf: { readonly ledger: ReadonlyMap<string, string>; readonly bank: ReadonlyMap<string, string> };
}

const LEDGER_COPY_COLUMNS = `entry_id, bank_account, currency, amount_minor::text, to_char(value_date, 'YYYY-MM-DD'), reference, batch_reference, sub_account,
  description, kind, break_id`;
const BANK_COPY_COLUMNS = `item_ref, statement_id, line_no, bank_account, currency, amount_minor::text, to_char(value_date, 'YYYY-MM-DD'),
  to_char(booking_date, 'YYYY-MM-DD'), to_char(effective_date, 'YYYY-MM-DD'), bank_ref, end_to_end_id, customer_ref, bank_tx_code, counterparty_name,
  remittance, reversal, transactions, break_id`;

/**
 * Every open item of an account up to a date (plus the tolerance), its open row locked until the run commits (FOR
 * UPDATE, as `ItemsPgRepository.openItemsForRun`), streamed out of Postgres with COPY straight into the engine's
 * columns: no row object per item. Both sides come sorted by id in code point order (COLLATE "C"), which is the
 * engine's own order, so it does not sort them again.
 */
export async function openItemColumnsForRun(
  executor: SqlExecutor,
  bankAccount: string,
  throughDate: string,
  limit = RUN_OPEN_ITEMS_MAX,
): Promise<RunOpenItems> {
  const client = await rawClientOf(executor);
  await client.query(`SET LOCAL work_mem = '${RUN_WORK_MEM}'; SET LOCAL statement_timeout = ${RUN_STATEMENT_TIMEOUT_MS}`);
  const account = client.escapeLiteral(bankAccount);
  const through = client.escapeLiteral(throughDate);
  const ledger = new LedgerColumns();
  const ledgerBreaks = new Map<string, string>();
  await readCopy(
    client.query(
      copyTo(`COPY (SELECT ${LEDGER_COPY_COLUMNS} FROM ledger_items WHERE entry_id IN (
                    SELECT entry_id FROM ledger_open_items WHERE bank_account = ${account} AND value_date <= ${through}::date
                     ORDER BY entry_id COLLATE "C" LIMIT ${Number(limit)} FOR UPDATE)
                  ORDER BY entry_id COLLATE "C") TO STDOUT`),
    ),
    11,
    (row) => {
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
    },
  );
  const bank = new BankColumns();
  const bankBreaks = new Map<string, string>();
  const bankEffectiveDate: string[] = [];
  await readCopy(
    client.query(
      copyTo(`COPY (SELECT ${BANK_COPY_COLUMNS} FROM bank_items WHERE item_ref IN (
                    SELECT item_ref FROM bank_open_items WHERE bank_account = ${account} AND effective_date <= ${through}::date
                     ORDER BY item_ref COLLATE "C" LIMIT ${Number(limit)} FOR UPDATE)
                  ORDER BY item_ref COLLATE "C") TO STDOUT`),
    ),
    18,
    (row) => {
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
    },
  );
  return { ledger, bank, bankEffectiveDate, breakOf: { ledger: ledgerBreaks, bank: bankBreaks } };
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
 * Records a run's match groups and closes their items, set-wise: the match rows with one COPY, each side's
 * (item, match) pairs with one COPY into a temporary table, then per side one DELETE of the open rows joined to it
 * (a delete writes no index entry) and one INSERT of the pairs into the item-match table (migration 0012). Every
 * item must still be open (the run holds the open rows' locks, so they are): when one is not, this throws
 * ConcurrentMatchError and the caller's transaction rolls back, as `recordMatches` does. `breakOf` (as the run's
 * load read it) names the breaks the items were in; returns, per match id, the ids of those breaks (a late partner
 * closes them); only matches with such a break are listed.
 */
export async function recordRunMatches(
  executor: SqlExecutor,
  matches: readonly RunMatch[],
  matchIds: readonly string[],
  recorded: { runId: string; matchedAt: Date },
  breakOf: RunOpenItems['breakOf'],
  phases?: ReconcilePhaseTimer,
): Promise<Map<string, string[]>> {
  if (matchIds.length !== matches.length) throw new Error('recordRunMatches: one match id per match');
  const breaksOfMatch = new Map<string, string[]>();
  if (matches.length === 0) return breaksOfMatch;
  const client = await rawClientOf(executor);
  await client.query(`SET LOCAL work_mem = '${RUN_WORK_MEM}'; SET LOCAL statement_timeout = ${RUN_STATEMENT_TIMEOUT_MS}`);
  const runId = copyField(recorded.runId);
  const matchedAt = copyField(recorded.matchedAt.toISOString());
  await writeCopy(
    client.query(copyFrom('COPY matches (match_id, rule, ledger_ids, bank_ids, run_id, matched_at) FROM STDIN')),
    (function* () {
      for (let index = 0; index < matches.length; index += 1) {
        const match = matches[index]!;
        yield `${matchIds[index]}\t${copyField(match.rule)}\t${textArrayField(match.ledger)}\t${textArrayField(match.bank)}\t${runId}\t${matchedAt}\n`;
      }
    })(),
  );
  phases?.phase('write matches: COPY matches');
  let ledgerCount = 0;
  let bankCount = 0;
  for (let index = 0; index < matches.length; index += 1) {
    const match = matches[index]!;
    ledgerCount += match.ledger.length;
    bankCount += match.bank.length;
    const breakIds = new Set<string>();
    for (const id of match.ledger) {
      const breakId = breakOf.ledger.get(id);
      if (breakId !== undefined) breakIds.add(breakId);
    }
    for (const id of match.bank) {
      const breakId = breakOf.bank.get(id);
      if (breakId !== undefined) breakIds.add(breakId);
    }
    if (breakIds.size > 0) breaksOfMatch.set(matchIds[index]!.toLowerCase(), [...breakIds]);
  }
  // Dropped at commit, or here when the same transaction records matches again.
  await client.query('DROP TABLE IF EXISTS pg_temp.run_ledger_matches, pg_temp.run_bank_matches');
  await client.query(
    `CREATE TEMPORARY TABLE run_ledger_matches (entry_id text NOT NULL, match_id uuid NOT NULL) ON COMMIT DROP;
     CREATE TEMPORARY TABLE run_bank_matches (item_ref text NOT NULL, match_id uuid NOT NULL) ON COMMIT DROP`,
  );
  const pairs = function* (side: 'ledger' | 'bank'): Generator<string> {
    for (let index = 0; index < matches.length; index += 1) for (const id of matches[index]![side]) yield `${copyField(id)}\t${matchIds[index]}\n`;
  };
  await writeCopy(client.query(copyFrom('COPY run_ledger_matches (entry_id, match_id) FROM STDIN')), pairs('ledger'));
  await writeCopy(client.query(copyFrom('COPY run_bank_matches (item_ref, match_id) FROM STDIN')), pairs('bank'));
  await client.query('ANALYZE run_ledger_matches, run_bank_matches');
  phases?.phase('write matches: COPY item pairs');
  const sides = [
    { open: 'ledger_open_items', pairs: 'ledger_item_matches', key: 'entry_id', staged: 'run_ledger_matches', expected: ledgerCount, side: 'ledger' },
    { open: 'bank_open_items', pairs: 'bank_item_matches', key: 'item_ref', staged: 'run_bank_matches', expected: bankCount, side: 'bank' },
  ] as const;
  for (const side of sides) {
    const closed = await client.query(`DELETE FROM ${side.open} o USING ${side.staged} x WHERE o.${side.key} = x.${side.key}`);
    if (closed.rowCount !== side.expected) {
      throw new ConcurrentMatchError([`${side.expected - (closed.rowCount ?? 0)} ${side.side} items of this run`], []);
    }
    phases?.phase(`write matches: close open ${side.side} items`);
    await client.query(`INSERT INTO ${side.pairs} (${side.key}, match_id) SELECT ${side.key}, match_id FROM ${side.staged}`);
    phases?.phase(`write matches: ${side.side} item matches`);
  }
  return breaksOfMatch;
}
