import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { ReconTestApp } from './recon-test-app';

/** Items refer to their match through a check per statement (migration 0010), not a foreign key: the same guarantee. */
describe('reconciliation schema: item to match references', () => {
  let harness: ReconTestApp;
  let service: Client;

  const insertLedgerItem = (entryId: string, matchId: string | null) =>
    service.query(
      `INSERT INTO ledger_items (entry_id, bank_account, currency, amount_minor, value_date, source, received_at, matched_at, match_id)
       VALUES ($1, 'DE00REFS', 'EUR', 100, '2025-05-02', 'event', now(), CASE WHEN $2::uuid IS NULL THEN NULL ELSE now() END, $2::uuid)`,
      [entryId, matchId],
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

  it('refuses, even as the service role, an item inserted or updated to point at a match that does not exist', async () => {
    const dangling = randomUUID();
    await expect(insertLedgerItem('refs-1', dangling)).rejects.toThrow(`ledger_items refers to match ${dangling} which does not exist`);
    await insertLedgerItem('refs-2', null);
    await expect(service.query('UPDATE ledger_items SET matched_at = now(), match_id = $1 WHERE entry_id = $2', [dangling, 'refs-2'])).rejects.toThrow(
      `ledger_items refers to match ${dangling} which does not exist`,
    );
    await expect(
      service.query(
        `INSERT INTO bank_items (line_id, item_ref, file_id, statement_id, line_no, bank_account, currency, amount_minor, effective_date, reversal, ref_keys,
                                 received_at, matched_at, match_id)
         VALUES ($1, 'REFS-B1', $2, 'S', 1, 'DE00REFS', 'EUR', 100, '2025-05-02', false, '{}', now(), now(), $3)`,
        [randomUUID(), randomUUID(), dangling],
      ),
    ).rejects.toThrow(`bank_items refers to match ${dangling} which does not exist`);
    expect((await harness.rows('SELECT entry_id, match_id FROM ledger_items WHERE entry_id LIKE $1', ['refs-%'])).length).toBe(1);
  });

  it('accepts items pointing at matches that exist, recorded in the same statement or before', async () => {
    const before = await insertMatch();
    await insertLedgerItem('refs-3', before);
    const sameStatement = randomUUID();
    await insertLedgerItem('refs-4', null);
    await service.query(
      `WITH recorded AS (INSERT INTO matches (match_id, rule, ledger_ids, bank_ids, matched_at) VALUES ($1, 'ref-exact', '{refs-4}', '{}', now()) RETURNING match_id)
       UPDATE ledger_items SET matched_at = now(), match_id = (SELECT match_id FROM recorded) WHERE entry_id = 'refs-4'`,
      [sameStatement],
    );
    expect(await harness.rows('SELECT entry_id, match_id::text FROM ledger_items WHERE entry_id IN ($1, $2) ORDER BY entry_id', ['refs-3', 'refs-4'])).toEqual([
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
