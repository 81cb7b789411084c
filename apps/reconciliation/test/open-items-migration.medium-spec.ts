import { randomUUID } from 'node:crypto';
import { MESSAGING_MIGRATIONS } from '@recon/messaging';
import { ensureDatabase, migrationsFromDirectory, runMigrations, serviceRoleFor } from '@recon/persistence';
import { isolate, TEST_ADMIN_URL, type TestIsolation } from '@recon/testing';
import { Client } from 'pg';
import { RECONCILIATION_MIGRATIONS_DIRECTORY } from '../src/reconciliation.app';

/**
 * Migration 0012 moves the matched state out of the item rows: a schema that ran 0001-0011 with open and matched
 * items keeps exactly that state, now in the open-item and item-match tables.
 */
describe('reconciliation migration 0012: open items and item matches', () => {
  let isolation: TestIsolation;
  let admin: Client;
  const migrate = (upTo: string) =>
    runMigrations({
      adminUrl: TEST_ADMIN_URL,
      schema: isolation.schema,
      serviceRole: serviceRoleFor(isolation.schema),
      migrations: [
        ...MESSAGING_MIGRATIONS,
        ...migrationsFromDirectory(RECONCILIATION_MIGRATIONS_DIRECTORY).filter((migration) => migration.id.slice(0, 4) <= upTo),
      ],
    });

  beforeAll(async () => {
    isolation = isolate('recon_m0012');
    await ensureDatabase(TEST_ADMIN_URL);
    admin = new Client({ connectionString: TEST_ADMIN_URL });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await isolation?.cleanup();
  });

  it('carries every item over open or matched as it was, with its lookup keys', async () => {
    const applied = await migrate('0011');
    expect(applied).toContain('0011-match-run-references-per-statement');
    expect(applied).not.toContain('0012-open-items-and-item-matches');
    await admin.query(`SET search_path TO ${isolation.schema}`);
    const matchId = randomUUID();
    const [openLine, matchedLine] = [randomUUID(), randomUUID()];
    await admin.query(`INSERT INTO matches (match_id, rule, ledger_ids, bank_ids, matched_at) VALUES ($1, 'ref-exact', '{L-MATCHED}', '{B-MATCHED}', now())`, [
      matchId,
    ]);
    await admin.query(
      `INSERT INTO ledger_items (entry_id, bank_account, currency, amount_minor, value_date, reference, ref_key, batch_ref_key, source, received_at,
                                 matched_at, match_id)
       VALUES ('L-OPEN', 'DE00M', 'EUR', 100, '2025-06-02', 'Inv 1', 'INV1', 'BATCH7', 'event', now(), NULL, NULL),
              ('L-MATCHED', 'DE00M', 'EUR', 200, '2025-06-02', 'Inv 2', 'INV2', NULL, 'event', now(), now(), $1)`,
      [matchId],
    );
    await admin.query(
      `INSERT INTO bank_items (line_id, item_ref, file_id, statement_id, line_no, bank_account, currency, amount_minor, effective_date, reversal, ref_keys,
                               received_at, matched_at, match_id)
       VALUES ($1, 'B-OPEN', $3, 'S', 1, 'DE00M', 'EUR', 300, '2025-06-03', false, '{INV3}', now(), NULL, NULL),
              ($2, 'B-MATCHED', $3, 'S', 2, 'DE00M', 'EUR', 200, '2025-06-02', false, '{INV2}', now(), now(), $4)`,
      [openLine, matchedLine, randomUUID(), matchId],
    );

    expect(await migrate('9999')).toEqual(['0012-open-items-and-item-matches', '0013-match-references-checked-in-range']);
    const rows = async (sql: string) => (await admin.query(sql)).rows;
    expect(await rows('SELECT entry_id, bank_account, currency, amount_minor::text, value_date::text, lookup_keys FROM ledger_open_items')).toEqual([
      {
        entry_id: 'L-OPEN',
        bank_account: 'DE00M',
        currency: 'EUR',
        amount_minor: '100',
        value_date: '2025-06-02',
        lookup_keys: ['INV1', 'BATCH7', 'INV1', 'INV1'],
      },
    ]);
    expect(await rows('SELECT item_ref, amount_minor::text, effective_date::text, ref_keys FROM bank_open_items')).toEqual([
      { item_ref: 'B-OPEN', amount_minor: '300', effective_date: '2025-06-03', ref_keys: ['INV3'] },
    ]);
    expect(await rows('SELECT entry_id, match_id::text FROM ledger_item_matches')).toEqual([{ entry_id: 'L-MATCHED', match_id: matchId }]);
    expect(await rows('SELECT item_ref, match_id::text FROM bank_item_matches')).toEqual([{ item_ref: 'B-MATCHED', match_id: matchId }]);
    // The item rows no longer hold a matched state.
    expect(
      await rows(
        `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = '${isolation.schema}'
            AND table_name IN ('ledger_items', 'bank_items') AND column_name IN ('matched_at', 'match_id', 'lookup_keys')`,
      ),
    ).toEqual([]);
  });
});
