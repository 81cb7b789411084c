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
      counts: { breaksOpened: number; matchGroups: number };
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
});
