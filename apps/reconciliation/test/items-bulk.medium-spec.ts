import { randomUUID } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import { defaultRuleSet, reconcile } from '@recon/matching';
import { isolate, type TestIsolation } from '@recon/testing';
import { Client } from 'pg';
import { bankReferenceKeys, type BankItemRow, engineBankItemOf, engineLedgerItemOf, type LedgerItemRow } from '../src/items/domain/recon-items';
import { claimOpenItemColumnsForRun, recordRunMatches } from '../src/items/infrastructure/items.bulk';
import { ItemsPgRepository } from '../src/items/infrastructure/items.pg.repository';
import { migrateReconciliation } from '../src/reconciliation.app';
import { loadReconciliationConfig } from '../src/reconciliation.config';

const ACCOUNT = 'DE44500105175407324931';
const OTHER_ACCOUNT = 'DE89370400440532013000';
const DAY = '2025-03-04';
const THROUGH = '2025-03-06';
/** Text COPY must escape, and text around it: tabs, line breaks, backslashes (also `\N` as text), quotes, commas, braces, non-ASCII. */
const AWKWARD = ['tab\there', 'line\nbreak\r\nend', 'back\\slash', '\\N', 'quote " and , comma {brace}', 'Grüße – 払い 💶', ' padded '];

/**
 * The nightly run's bulk access (`items.bulk.ts`) against the row-by-row path it replaces, on the real Postgres:
 * the same open items (every field, awkward text included) and so the same engine result, and matches recorded
 * exactly, or refused when an item is no longer open.
 */
describe('reconciliation: bulk access of the nightly run', () => {
  let isolation: TestIsolation;
  let client: Client;
  const items = new ItemsPgRepository();

  const ledgerRow = (index: number, extra: Partial<LedgerItemRow> = {}): LedgerItemRow => ({
    entryId: `${randomUUID()}:${index}`,
    bankAccount: ACCOUNT,
    currency: 'EUR',
    amountMinor: BigInt(1_000 + index),
    valueDate: DAY,
    reference: `PLAT-D-${String(index).padStart(6, '0')}`,
    refKey: `PLATD${String(index).padStart(6, '0')}`,
    batchReference: undefined,
    batchRefKey: undefined,
    subAccount: undefined,
    description: undefined,
    kind: undefined,
    ...extra,
  });
  const bankRow = (index: number, extra: Partial<BankItemRow> = {}): BankItemRow => {
    const row = {
      lineId: randomUUID(),
      fileId: randomUUID(),
      statementId: 'STMT-0304',
      lineNo: index,
      bankAccount: ACCOUNT,
      currency: 'EUR',
      amountMinor: BigInt(1_000 + index),
      valueDate: DAY,
      bookingDate: DAY,
      effectiveDate: DAY,
      bankRef: `B${index}`,
      endToEndId: `PLAT-D-${String(index).padStart(6, '0')}`,
      customerRef: undefined,
      bankTxCode: 'PMNT/RCDT/ESCT',
      counterpartyName: undefined,
      remittance: undefined,
      reversal: false,
      transactions: undefined,
      refKeys: [] as string[],
      receivedAt: `${DAY}T10:00:00Z`,
      ...extra,
    };
    return { ...row, refKeys: bankReferenceKeys(row as never, new Set()) };
  };

  beforeAll(async () => {
    isolation = isolate('recon_bulk');
    const config = loadReconciliationConfig(isolation.env({}));
    await migrateReconciliation(config);
    // The service's own role, as the run connects: COPY, FOR UPDATE and temporary tables need no more than it has.
    client = new Client({ connectionString: isolation.databaseUrl, options: `-c search_path=${isolation.schema}` });
    await client.connect();
    const ledger = [
      ...Array.from({ length: 40 }, (_, index) => ledgerRow(index + 1)),
      ...AWKWARD.map((text, index) =>
        ledgerRow(100 + index, { entryId: `awkward ${text} ${index}`, reference: text, description: text, subAccount: text, kind: 'deposit' }),
      ),
      ledgerRow(200, { amountMinor: -(10n ** 25n), batchReference: 'BATCH-7', batchRefKey: 'BATCH7' }),
      ledgerRow(201, { valueDate: '2025-03-07' }), // after the window: not the run's
      ledgerRow(202, { bankAccount: OTHER_ACCOUNT }),
    ];
    const bank = [
      ...Array.from({ length: 40 }, (_, index) => bankRow(index + 1)),
      ...AWKWARD.map((text, index) =>
        bankRow(100 + index, {
          bankRef: `awkward "${text}" ${index}`,
          remittance: text,
          counterpartyName: text,
          customerRef: text,
          endToEndId: undefined,
        }),
      ),
      bankRow(200, {
        amountMinor: 10n ** 25n,
        valueDate: undefined,
        bookingDate: undefined,
        effectiveDate: '2025-03-05',
        reversal: true,
        transactions: [
          { amountMinor: 10n ** 24n, endToEndId: 'PART-1', remittance: 'part\tone' },
          { amountMinor: 9n * 10n ** 24n, remittance: 'Grüße' },
        ],
      }),
      bankRow(201, { effectiveDate: '2025-03-07', valueDate: '2025-03-07' }),
    ];
    await client.query('BEGIN');
    await items.insertLedgerItems(client, ledger, 'event', `${DAY}T10:00:00Z`);
    await items.insertBankItems(client, bank);
    await client.query('COMMIT');
  });

  afterAll(async () => {
    await client?.end();
    await isolation?.cleanup();
  });

  /** The run's open items another transaction could take now (not deleted, not locked), per side. */
  async function takeableOpenItems(): Promise<{ ledger: number; bank: number }> {
    const other = new Client({ connectionString: isolation.databaseUrl, options: `-c search_path=${isolation.schema}` });
    await other.connect();
    try {
      await other.query('BEGIN');
      const ledger = await other.query('SELECT entry_id FROM ledger_open_items WHERE bank_account = $1 AND value_date <= $2 FOR UPDATE SKIP LOCKED', [
        ACCOUNT,
        THROUGH,
      ]);
      const bank = await other.query('SELECT item_ref FROM bank_open_items WHERE bank_account = $1 AND effective_date <= $2 FOR UPDATE SKIP LOCKED', [
        ACCOUNT,
        THROUGH,
      ]);
      return { ledger: ledger.rowCount ?? 0, bank: bank.rowCount ?? 0 };
    } finally {
      await other.query('ROLLBACK');
      await other.end();
    }
  }

  it('loads the same open items as the row-by-row path, every field, so the engine gives the same result', async () => {
    await client.query('BEGIN');
    try {
      const rows = await items.openItemsForRun(client, ACCOUNT, THROUGH);
      const columns = await claimOpenItemColumnsForRun(client, ACCOUNT, THROUGH);
      expect(columns.ledger.length).toBe(rows.ledger.length);
      expect(columns.bank.length).toBe(rows.bank.length);
      expect(columns.ledger.length).toBe(48);
      expect(columns.bank.length).toBe(48);
      const ledgerById = new Map(rows.ledger.map((row) => [row.entry_id, engineLedgerItemOf(row)]));
      const bankById = new Map(rows.bank.map((row) => [row.item_ref, { item: engineBankItemOf(row), effective: row.effective_date }]));
      for (let index = 0; index < columns.ledger.length; index += 1) {
        const item = columns.ledger.item(index);
        expect(item).toEqual(ledgerById.get(item.entryId));
      }
      for (let index = 0; index < columns.bank.length; index += 1) {
        const item = columns.bank.item(index);
        expect(item).toEqual(bankById.get(item.id)!.item);
        expect(columns.bankEffectiveDate[index]).toBe(bankById.get(item.id)!.effective);
      }
      expect(columns.ledger.item(columns.ledger.entryId.indexOf('awkward \\N 3'))).toMatchObject({ reference: '\\N', description: '\\N' });
      // Sorted as the engine sorts (code point order), so it does not sort them again.
      expect([...columns.ledger.entryId].sort()).toEqual(columns.ledger.entryId);
      expect([...columns.bank.id].sort()).toEqual(columns.bank.id);
      const ruleSet = defaultRuleSet();
      const fromRows = reconcile({ ledger: rows.ledger.map(engineLedgerItemOf), bank: rows.bank.map(engineBankItemOf) }, ruleSet);
      const fromColumns = reconcile({ ledger: columns.ledger, bank: columns.bank }, ruleSet);
      expect(fromColumns.summary.run).toEqual(fromRows.summary.run);
      expect(fromColumns.matches).toEqual(fromRows.matches);
      expect(fromColumns.breaks).toEqual(fromRows.breaks);
      expect(fromColumns.matches.length).toBeGreaterThan(40);
      // Claimed through the join a large claim takes instead of look-ups, on a connection whose dates are written
      // German style (a server's default may be anything): the same columns, dates in ISO form.
      await client.query('ROLLBACK');
      await client.query(`SET DateStyle = 'German, DMY'`);
      await client.query('BEGIN');
      const joined = await claimOpenItemColumnsForRun(client, ACCOUNT, THROUGH, undefined, 0);
      expect(joined).toEqual(columns);
    } finally {
      await client.query('ROLLBACK');
      await client.query('RESET DateStyle');
    }
  });

  it('claims only the first items by id when a side has more than the limit, and leaves the rest open', async () => {
    await client.query('BEGIN');
    try {
      // Read in a savepoint rolled back at once: the row path locks what it reads.
      await client.query('SAVEPOINT read_all');
      const all = await items.openItemsForRun(client, ACCOUNT, THROUGH);
      await client.query('ROLLBACK TO SAVEPOINT read_all');
      const firstLedger = all.ledger
        .map((row) => row.entry_id)
        .sort()
        .slice(0, 10);
      const firstBank = all.bank
        .map((row) => row.item_ref)
        .sort()
        .slice(0, 10);
      for (const [byLookupMax, lockMax] of [
        [undefined, 0],
        [0, 0],
        [undefined, undefined],
        [0, undefined],
      ]) {
        await client.query('SAVEPOINT before_claim');
        const columns = await claimOpenItemColumnsForRun(client, ACCOUNT, THROUGH, 10, byLookupMax, lockMax);
        expect(columns.claim).toBe(lockMax === 0 ? 'deleted' : 'locked');
        expect(columns.ledger.entryId).toEqual(firstLedger);
        expect(columns.bank.id).toEqual(firstBank);
        // A claim joined to its items turns hash joins off for its own statements only.
        expect((await client.query(`SELECT current_setting('enable_hashjoin') AS setting`)).rows[0].setting).toBe('on');
        // Deleted, or locked: either way another transaction can no longer take them, and can take the rest.
        expect(await takeableOpenItems()).toEqual({ ledger: all.ledger.length - 10, bank: all.bank.length - 10 });
        await client.query('ROLLBACK TO SAVEPOINT before_claim');
      }
    } finally {
      await client.query('ROLLBACK');
    }
  });

  it.each([
    ['locks', undefined],
    ['deletes', 0],
  ])('records matches set-wise when the claim %s the open rows, awkward ids included, and refuses items that are no longer open', async (_claim, lockMax) => {
    const runId = randomUUID();
    const matchedAt = new Date('2025-03-04T20:00:00Z');
    await client.query('BEGIN');
    try {
      await client.query(
        `INSERT INTO runs (run_id, bank_account, business_date, trigger, requested_by, status, started_at) VALUES ($1, $2, $3, 'api', 't', 'running', now())`,
        [runId, ACCOUNT, DAY],
      );
      // One entry the run will match was in a break: the run reports it (a late partner closes it).
      const breakId = randomUUID();
      const before = reconcile(
        await items
          .openItemsForRun(client, ACCOUNT, THROUGH)
          .then(({ ledger, bank }) => ({ ledger: ledger.map(engineLedgerItemOf), bank: bank.map(engineBankItemOf) })),
        defaultRuleSet(),
      );
      const lateEntry = before.matches[0]!.ledger[0]!;
      await client.query(
        `INSERT INTO breaks (break_id, break_key, type, category, severity, currency, amount, amount_minor, bank_account, business_date, ledger_ids, bank_ids,
                             reason, explanation, status, opened_at)
         VALUES ($1, repeat('a', 64), 'missing_in_bank', 'data_sync', 'medium', 'EUR', '1.00', 100, $2, $3, ARRAY[$4], '{}', 'test', '{}', 'open', now())`,
        [breakId, ACCOUNT, DAY, lateEntry],
      );
      await client.query('UPDATE ledger_items SET break_id = $1 WHERE entry_id = $2', [breakId, lateEntry]);
      const columns = await claimOpenItemColumnsForRun(client, ACCOUNT, THROUGH, undefined, undefined, lockMax);
      // Claimed: no longer open to anyone else until the run records what it matched.
      expect(await takeableOpenItems()).toEqual({ ledger: 0, bank: 0 });
      expect(columns.breakOf.ledger).toEqual(new Map([[lateEntry, breakId]]));
      const result = reconcile({ ledger: columns.ledger, bank: columns.bank }, defaultRuleSet(), { itemMatches: true });
      const matchIds = result.matches.map(() => randomUUID());
      // Item indexes that do not agree with the matches are refused before anything is kept (the caller rolls back).
      await client.query('SAVEPOINT before_record');
      const shifted = {
        ledger: result.itemMatches!.ledger.map((index) => (index === -1 ? -1 : (index + 1) % result.matches.length)),
        bank: result.itemMatches!.bank,
      };
      await expect(recordRunMatches(client, columns, result.matches, shifted, matchIds, { runId, matchedAt })).rejects.toThrow('which does not list it');
      await client.query('ROLLBACK TO SAVEPOINT before_record');
      const dropped = { ledger: result.itemMatches!.ledger.map((index) => (index === 0 ? -1 : index)), bank: result.itemMatches!.bank };
      await expect(recordRunMatches(client, columns, result.matches, dropped, matchIds, { runId, matchedAt })).rejects.toThrow(
        'match 0 lists ledger items the run did not claim',
      );
      await client.query('ROLLBACK TO SAVEPOINT before_record');
      // Work beside the pairs that fails fails the recording, once the pairs are stored too (nothing left running).
      const reached: string[] = [];
      await expect(
        recordRunMatches(client, columns, result.matches, result.itemMatches!, matchIds, { runId, matchedAt }, { phase: (name) => reached.push(name) }, () =>
          Promise.reject(new Error('classification failed')),
        ),
      ).rejects.toThrow('classification failed');
      expect(reached.at(-1)).toMatch(/^write matches: (close matched|reopen unmatched) \(bank_item_matches\)$/);
      await client.query('ROLLBACK TO SAVEPOINT before_record');
      // The caller's work beside the pairs (the run's input hashes) is done when the recording is.
      let alongside = 'not started';
      const breaksOf = await recordRunMatches(client, columns, result.matches, result.itemMatches!, matchIds, { runId, matchedAt }, undefined, async () => {
        alongside = 'started';
        await setImmediate();
        alongside = 'done';
      });
      expect(alongside).toBe('done');
      const lateMatch = result.matches.findIndex((match) => match.ledger.includes(lateEntry));
      expect(breaksOf).toEqual(new Map([[matchIds[lateMatch]!, [breakId]]]));
      const stored = (await client.query('SELECT match_id::text, rule, ledger_ids, bank_ids, run_id::text, matched_at FROM matches ORDER BY match_id')).rows;
      expect(stored).toEqual(
        result.matches
          .map((match, index) => ({
            match_id: matchIds[index],
            rule: match.rule,
            ledger_ids: match.ledger,
            bank_ids: match.bank,
            run_id: runId,
            matched_at: matchedAt,
          }))
          .sort((a, b) => (a.match_id! < b.match_id! ? -1 : 1)),
      );
      const matchedLedger = (await client.query('SELECT entry_id, match_id::text FROM ledger_item_matches')).rows;
      expect(new Map(matchedLedger.map((row) => [row.entry_id, row.match_id]))).toEqual(
        new Map(result.matches.flatMap((match, index) => match.ledger.map((id) => [id, matchIds[index]]))),
      );
      const matchedBank = (await client.query('SELECT item_ref, match_id::text FROM bank_item_matches')).rows;
      expect(new Map(matchedBank.map((row) => [row.item_ref, row.match_id]))).toEqual(
        new Map(result.matches.flatMap((match, index) => match.bank.map((id) => [id, matchIds[index]]))),
      );
      expect(matchedBank.map((row) => row.item_ref)).toContain('awkward "back\\slash" 2');
      // Matched items are no longer open; the others (claimed and left unmatched, or beyond the run's dates) are.
      const open = (
        await client.query(
          `SELECT (SELECT count(*) FROM ledger_items l WHERE NOT EXISTS (SELECT 1 FROM ledger_open_items o WHERE o.entry_id = l.entry_id))::int AS ledger,
                  (SELECT count(*) FROM bank_items b WHERE NOT EXISTS (SELECT 1 FROM bank_open_items o WHERE o.item_ref = b.item_ref))::int AS bank`,
        )
      ).rows[0];
      expect(open).toEqual({ ledger: matchedLedger.length, bank: matchedBank.length });
      // The same items again: already matched, so the whole recording is refused (the caller rolls back).
      const firstOnly = {
        ledger: result.itemMatches!.ledger.map((index) => (index === 0 ? 0 : -1)),
        bank: result.itemMatches!.bank.map((index) => (index === 0 ? 0 : -1)),
      };
      await expect(recordRunMatches(client, columns, result.matches.slice(0, 1), firstOnly, [randomUUID()], { runId, matchedAt })).rejects.toThrow(
        'duplicate key',
      );
    } finally {
      await client.query('ROLLBACK');
    }
  });
  it('refuses, after a locking claim, a matched item whose open row is gone (it would be matched twice)', async () => {
    const runId = randomUUID();
    await client.query('BEGIN');
    try {
      await client.query(
        `INSERT INTO runs (run_id, bank_account, business_date, trigger, requested_by, status, started_at) VALUES ($1, $2, $3, 'api', 't', 'running', now())`,
        [runId, ACCOUNT, DAY],
      );
      const columns = await claimOpenItemColumnsForRun(client, ACCOUNT, THROUGH);
      expect(columns.claim).toBe('locked');
      const result = reconcile({ ledger: columns.ledger, bank: columns.bank }, defaultRuleSet(), { itemMatches: true });
      await client.query('DELETE FROM ledger_open_items WHERE entry_id = $1', [result.matches[0]!.ledger[0]]);
      await expect(
        recordRunMatches(
          client,
          columns,
          result.matches,
          result.itemMatches!,
          result.matches.map(() => randomUUID()),
          { runId, matchedAt: new Date() },
        ),
      ).rejects.toThrow('1 matched ledger items were no longer open');
    } finally {
      await client.query('ROLLBACK');
    }
  });
});
