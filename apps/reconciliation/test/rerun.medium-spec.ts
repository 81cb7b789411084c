import { randomUUID } from 'node:crypto';
import { TEST_KEYS } from '@recon/testing';
import { OFFLINE_RUN_SETTINGS, ReconTestApp } from './recon-test-app';

const ACCOUNT = 'DE89370400440532013000';
const DAY = '2025-06-02';

/**
 * Re-running a day produces nothing new, also when what is open changed in between: a duplicate bank line is
 * classified as a duplicate while its twin is open beside it; once the twin is matched, the line alone would read
 * as money the ledger does not know. The break found first stands.
 */
describe('reconciliation: re-running a day', () => {
  let harness: ReconTestApp;

  const runDay = async () =>
    (await harness.api.post('/v1/runs').set('X-Api-Key', TEST_KEYS.ops).send({ custodyAccount: ACCOUNT, businessDate: DAY }).expect(201)).body as {
      counts: { breaksOpened: number; matchGroups: number; breaksClosedByLatePartner: number };
    };
  const breaks = () =>
    harness.rows<{ type: string; status: string; bank_ids: string[] }>('SELECT type, status, bank_ids FROM breaks WHERE bank_account = $1 ORDER BY opened_at', [
      ACCOUNT,
    ]);

  beforeAll(async () => {
    // No consumers: the items are written straight into the tables, so that the first run sees the twins side by side.
    harness = await ReconTestApp.start({ settings: { ...OFFLINE_RUN_SETTINGS, RECON_CONSUMERS_ENABLED: 'false' } });
    await harness.admin.query(
      `INSERT INTO ledger_items (entry_id, bank_account, currency, amount_minor, value_date, reference, ref_key, source, received_at)
       VALUES ('tx-rerun:1', $1, 'EUR', 4000, $2, 'PLAT-R-000001', 'PLATR000001', 'export', now())`,
      [ACCOUNT, DAY],
    );
    for (const [bankRef, lineNo] of [
      ['BR-RERUN-1', 1],
      ['BR-RERUN-2', 2],
    ] as const) {
      await harness.admin.query(
        `INSERT INTO bank_items (line_id, item_ref, file_id, statement_id, line_no, bank_account, currency, amount_minor, value_date, booking_date,
                                 effective_date, bank_ref, end_to_end_id, reversal, ref_keys, received_at)
         VALUES ($1, $2, $3, 'STMT-RERUN', $4, $5, 'EUR', 4000, $6, $6, $6, $2, 'PLAT-R-000001', false, ARRAY[$7, 'PLATR000001'], now())`,
        [randomUUID(), bankRef, randomUUID(), lineNo, ACCOUNT, DAY, bankRef.replace(/-/g, '')],
      );
    }
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('keeps the duplicate found first when a re-run sees the line without its matched twin', async () => {
    const first = await runDay();
    expect(first.counts).toMatchObject({ matchGroups: 1, breaksOpened: 1 });
    expect(await breaks()).toEqual([{ type: 'duplicate', status: 'open', bank_ids: ['BR-RERUN-2'] }]);

    const second = await runDay();
    expect(second.counts).toMatchObject({ matchGroups: 0, breaksOpened: 0 });
    expect(await breaks()).toEqual([{ type: 'duplicate', status: 'open', bank_ids: ['BR-RERUN-2'] }]);
    expect(await harness.count(`SELECT count(*) FROM outbox_messages WHERE subject = 'audit.reconciliation.break.open'`)).toBe(1);
  });

  it('closes, in a run, the break of an item whose partner the run matched (a late partner continuous matching could not pair)', async () => {
    await harness.admin.query(
      `INSERT INTO ledger_items (entry_id, bank_account, currency, amount_minor, value_date, source, received_at)
       VALUES ('tx-late:1', $1, 'EUR', 123456, $2, 'export', now())`,
      [ACCOUNT, DAY],
    );
    expect((await runDay()).counts).toMatchObject({ matchGroups: 0, breaksOpened: 1, breaksClosedByLatePartner: 0 });
    const [opened] = await harness.rows<{ break_id: string; type: string }>(`SELECT break_id, type FROM breaks WHERE 'tx-late:1' = ANY(ledger_ids)`);
    expect(opened?.type).toBe('missing_in_bank');
    // The bank line arrives with nothing but its amount and date: only a run's amount-and-date rule pairs it.
    await harness.admin.query(
      `INSERT INTO bank_items (line_id, item_ref, file_id, statement_id, line_no, bank_account, currency, amount_minor, value_date, booking_date,
                               effective_date, reversal, ref_keys, received_at)
       VALUES ($1, 'STMT-LATE:1', $2, 'STMT-LATE', 1, $3, 'EUR', 123456, $4, $4, $4, false, '{}', now())`,
      [randomUUID(), randomUUID(), ACCOUNT, DAY],
    );
    expect((await runDay()).counts).toMatchObject({ matchGroups: 1, breaksOpened: 0, breaksClosedByLatePartner: 1 });
    expect(await harness.rows('SELECT status, resolution_code FROM breaks WHERE break_id = $1', [opened!.break_id])).toEqual([
      { status: 'closed', resolution_code: 'late_partner' },
    ]);
    expect(await harness.rows(`SELECT m.rule FROM ledger_item_matches x JOIN matches m USING (match_id) WHERE x.entry_id = 'tx-late:1'`)).toEqual([
      { rule: 'amount-date' },
    ]);
    expect(await harness.count(`SELECT count(*) FROM ledger_open_items WHERE entry_id = 'tx-late:1'`)).toBe(0);
  });
});
