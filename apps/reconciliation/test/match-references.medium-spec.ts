import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { ReconTestApp } from './recon-test-app';

/**
 * An item's match is a row of `ledger_item_matches` / `bank_item_matches` (migration 0012) referring to its match
 * through a check per statement (migration 0010), not a foreign key: the same guarantee. New items are open (a
 * trigger), and open rows and pairs are never updated.
 */
describe('reconciliation schema: item to match references', () => {
  let harness: ReconTestApp;
  let service: Client;

  const insertLedgerItem = (entryId: string) =>
    service.query(
      `INSERT INTO ledger_items (entry_id, bank_account, currency, amount_minor, value_date, reference, ref_key, source, received_at)
       VALUES ($1, 'DE00REFS', 'EUR', 100, '2025-05-02', 'Ref ' || $1, upper(replace($1, '-', '')), 'event', now())`,
      [entryId],
    );
  const insertMatch = async (): Promise<string> => {
    const matchId = randomUUID();
    await service.query(`INSERT INTO matches (match_id, rule, ledger_ids, bank_ids, matched_at) VALUES ($1, 'ref-exact', '{}', '{}', now())`, [matchId]);
    return matchId;
  };

  beforeAll(async () => {
    harness = await ReconTestApp.start({ settings: { RECON_SCHEDULER_ENABLED: 'false', RECON_CONSUMERS_ENABLED: 'false' } });
    // As the service itself connects: its own role, not the schema's owner.
    service = new Client({ connectionString: harness.isolation.databaseUrl });
    await service.connect();
    await service.query(`SET search_path TO ${harness.isolation.schema}`);
  });

  afterAll(async () => {
    await service?.end();
    await harness?.close();
  });

  it('opens every new item, with its lookup keys, however it is inserted', async () => {
    await insertLedgerItem('refs-0');
    await service.query(
      `INSERT INTO bank_items (line_id, item_ref, file_id, statement_id, line_no, bank_account, currency, amount_minor, effective_date, reversal, ref_keys, received_at)
       VALUES ($1, 'REFS-B0', $2, 'S', 1, 'DE00REFS', 'EUR', 100, '2025-05-02', false, '{REFSB0}', now())`,
      [randomUUID(), randomUUID()],
    );
    expect(await harness.rows("SELECT entry_id, lookup_keys FROM ledger_open_items WHERE entry_id = 'refs-0'")).toEqual([
      { entry_id: 'refs-0', lookup_keys: ['REFS0', 'REFS0', 'REFS0'] },
    ]);
    expect(await harness.rows("SELECT item_ref, ref_keys FROM bank_open_items WHERE item_ref = 'REFS-B0'")).toEqual([
      { item_ref: 'REFS-B0', ref_keys: ['REFSB0'] },
    ]);
    // What an open row was made from never changes behind it.
    await expect(service.query(`UPDATE ledger_items SET amount_minor = 101 WHERE entry_id = 'refs-0'`)).rejects.toThrow(
      'the columns an item is matched by are never changed',
    );
    await expect(service.query(`UPDATE ledger_open_items SET amount_minor = 101 WHERE entry_id = 'refs-0'`)).rejects.toThrow('never changed');
  });

  it('refuses, even as the service role, an item paired with a match that does not exist, or a pair changed', async () => {
    const dangling = randomUUID();
    await insertLedgerItem('refs-1');
    await expect(service.query('INSERT INTO ledger_item_matches (entry_id, match_id) VALUES ($1, $2)', ['refs-1', dangling])).rejects.toThrow(
      `ledger_item_matches refers to match ${dangling} which does not exist`,
    );
    await expect(service.query(`INSERT INTO bank_item_matches (item_ref, match_id) VALUES ('REFS-B0', $1)`, [dangling])).rejects.toThrow(
      `bank_item_matches refers to match ${dangling} which does not exist`,
    );
    const matchId = await insertMatch();
    await service.query('INSERT INTO ledger_item_matches (entry_id, match_id) VALUES ($1, $2)', ['refs-1', matchId]);
    // The service role may not change a pair; nor may the schema's owner.
    await expect(service.query('UPDATE ledger_item_matches SET match_id = $1 WHERE entry_id = $2', [dangling, 'refs-1'])).rejects.toThrow('permission denied');
    await expect(harness.admin.query('UPDATE ledger_item_matches SET match_id = $1 WHERE entry_id = $2', [matchId, 'refs-1'])).rejects.toThrow(
      'ledger_item_matches rows are inserted and deleted, never changed',
    );
    expect(await harness.rows('SELECT entry_id, match_id::text FROM ledger_item_matches WHERE entry_id LIKE $1', ['refs-%'])).toEqual([
      { entry_id: 'refs-1', match_id: matchId },
    ]);
  });

  it('refuses a statement of many pairs when one of them names a match that does not exist, inside or outside the range of the others', async () => {
    // Time-ordered ids (as the service makes them): the missing ones lie between and beyond the matches that exist.
    const ids = Array.from({ length: 5 }, (_, index) => `01900000-0000-7000-8000-${String(index).padStart(12, '0')}`);
    for (const id of [ids[0]!, ids[2]!, ids[3]!])
      await service.query(`INSERT INTO matches (match_id, rule, ledger_ids, bank_ids, matched_at) VALUES ($1, 'ref-exact', '{}', '{}', now())`, [id]);
    const entries = ['refs-5', 'refs-6', 'refs-7'];
    for (const entryId of entries) await insertLedgerItem(entryId);
    for (const missing of [ids[1]!, ids[4]!]) {
      await expect(
        service.query('INSERT INTO ledger_item_matches (entry_id, match_id) SELECT * FROM unnest($1::text[], $2::uuid[])', [
          entries,
          [ids[0], missing, ids[3]],
        ]),
      ).rejects.toThrow(`ledger_item_matches refers to match ${missing} which does not exist`);
    }
    await service.query('INSERT INTO ledger_item_matches (entry_id, match_id) SELECT * FROM unnest($1::text[], $2::uuid[])', [
      entries,
      [ids[0], ids[2], ids[3]],
    ]);
    expect(await harness.rows('SELECT count(*)::int AS pairs FROM ledger_item_matches WHERE entry_id = ANY($1)', [entries])).toEqual([{ pairs: 3 }]);
  });

  it('accepts pairs with matches that exist, recorded in the same statement or before', async () => {
    const before = await insertMatch();
    await insertLedgerItem('refs-3');
    await service.query('INSERT INTO ledger_item_matches (entry_id, match_id) VALUES ($1, $2)', ['refs-3', before]);
    const sameStatement = randomUUID();
    await insertLedgerItem('refs-4');
    await service.query(
      `WITH recorded AS (INSERT INTO matches (match_id, rule, ledger_ids, bank_ids, matched_at) VALUES ($1, 'ref-exact', '{refs-4}', '{}', now()) RETURNING match_id)
       INSERT INTO ledger_item_matches (entry_id, match_id) SELECT 'refs-4', match_id FROM recorded`,
      [sameStatement],
    );
    expect(
      await harness.rows('SELECT entry_id, match_id::text FROM ledger_item_matches WHERE entry_id IN ($1, $2) ORDER BY entry_id', ['refs-3', 'refs-4']),
    ).toEqual([
      { entry_id: 'refs-3', match_id: before },
      { entry_id: 'refs-4', match_id: sameStatement },
    ]);
  });

  it('refuses, even as the service role, a match naming a run that does not exist, and keeps runs and their ids', async () => {
    const dangling = randomUUID();
    await expect(
      service.query(`INSERT INTO matches (match_id, rule, ledger_ids, bank_ids, run_id, matched_at) VALUES ($1, 'ref-exact', '{}', '{}', $2, now())`, [
        randomUUID(),
        dangling,
      ]),
    ).rejects.toThrow(`match refers to run ${dangling} which does not exist`);
    const runId = randomUUID();
    await harness.admin.query(
      `INSERT INTO runs (run_id, bank_account, business_date, trigger, status, started_at, requested_by) VALUES ($1, 'DE00REFS', '2025-05-02', 'api', 'running', now(), 'test')`,
      [runId],
    );
    await service.query(`INSERT INTO matches (match_id, rule, ledger_ids, bank_ids, run_id, matched_at) VALUES ($1, 'ref-exact', '{}', '{}', $2, now())`, [
      randomUUID(),
      runId,
    ]);
    await expect(harness.admin.query('DELETE FROM runs WHERE run_id = $1', [runId])).rejects.toThrow(
      `run ${runId} cannot be delete: matches refer to runs by id`,
    );
    await expect(harness.admin.query('UPDATE runs SET run_id = $1 WHERE run_id = $2', [randomUUID(), runId])).rejects.toThrow(
      `run ${runId} cannot be update: matches refer to runs by id`,
    );
  });

  it("never lets a match's id change or the match go, even for the schema's owner", async () => {
    const matchId = await insertMatch();
    await expect(harness.admin.query('UPDATE matches SET match_id = $1 WHERE match_id = $2', [randomUUID(), matchId])).rejects.toThrow(
      `match ${matchId} cannot be update: items refer to matches by id`,
    );
    await expect(harness.admin.query('DELETE FROM matches WHERE match_id = $1', [matchId])).rejects.toThrow(
      `match ${matchId} cannot be delete: items refer to matches by id`,
    );
    await harness.admin.query(`UPDATE matches SET undone_at = now(), undo_reason = 'a test' WHERE match_id = $1`, [matchId]);
  });
});
