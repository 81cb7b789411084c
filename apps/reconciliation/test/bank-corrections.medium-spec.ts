import { randomUUID } from 'node:crypto';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { BankLineRejectedV1, BankLineRetractedV1 } from '@recon/contracts';
import { streamNameFor } from '@recon/messaging';
import { TEST_KEYS, type TestIsolation } from '@recon/testing';
import type { Client } from 'pg';
import request from 'supertest';
import { BankLineWithdrawals } from '../src/corrections/bank-line-withdrawals';
import { bankLine, movement, type ReconEventPublisher } from './recon-events.fixture';
import { eventually, OFFLINE_RUN_SETTINGS, ReconTestApp } from './recon-test-app';

const ACCOUNT = 'DE44500105175407324931';
const CUSTODY_ID = 'custody-corrections-eur';
const DAY = '2025-03-03';

/** bank.line.retracted, bank.line.rejected and bank.line.rejection-resolved applied over real NATS and Postgres. */
describe('reconciliation: corrections from the bank gateway', () => {
  let isolation: TestIsolation;
  let app: NestExpressApplication;
  let api: ReturnType<typeof request>;
  let admin: Client;
  let harness: ReconTestApp;
  let events: ReconEventPublisher;
  let jsm: JetStreamManager;

  const rows = async <T>(sql: string, params: unknown[] = []) => (await admin.query(sql, params)).rows as T[];
  const one = async <T>(sql: string, params: unknown[] = []) => (await rows<T>(sql, params))[0];
  const line = (lineNo: number, amount: string, extra: Record<string, unknown> = {}) =>
    bankLine({ account: ACCOUNT, currency: 'EUR', statementId: 'STMT-CORR', lineNo, amount, valueDate: DAY, bookingDate: DAY, ...extra });
  const retraction = (lineIds: string[], overrides: Partial<BankLineRetractedV1> = {}): BankLineRetractedV1 => ({
    findingId: randomUUID(),
    fileId: randomUUID(),
    account: ACCOUNT,
    statementId: 'STMT-CORR',
    lineIds,
    part: 1,
    parts: 1,
    replacedByFileId: randomUUID(),
    reason: 'the bank corrected the statement',
    retractedBy: 'dev-approver',
    retractedAt: new Date().toISOString(),
    ...overrides,
  });
  const ledgerItem = (entryId: string) =>
    one<{ matched_at: Date | null; match_id: string | null; break_id: string | null; open: boolean }>(
      `SELECT m.matched_at, x.match_id, l.break_id, EXISTS (SELECT 1 FROM ledger_open_items o WHERE o.entry_id = l.entry_id) AS open
         FROM ledger_items l LEFT JOIN ledger_item_matches x USING (entry_id) LEFT JOIN matches m ON m.match_id = x.match_id WHERE l.entry_id = $1`,
      [entryId],
    );
  const bankItem = (lineId: string) =>
    one<{ item_ref: string; match_id: string | null; rule: string | null; break_id: string | null }>(
      `SELECT b.item_ref, x.match_id, m.rule, b.break_id
         FROM bank_items b LEFT JOIN bank_item_matches x USING (item_ref) LEFT JOIN matches m ON m.match_id = x.match_id WHERE b.line_id = $1`,
      [lineId],
    );
  const withdrawalOf = (lineId: string) =>
    one<{ finding_id: string; undone_match_id: string | null; closed_break_id: string | null; reason: string }>(
      'SELECT finding_id, undone_match_id, closed_break_id, reason FROM bank_line_withdrawals WHERE line_id = $1',
      [lineId],
    );
  const tombstoneOf = (lineId: string) =>
    one<{ finding_id: string; bank_account: string; applied: boolean }>(
      'SELECT finding_id, bank_account, applied_at IS NOT NULL AS applied FROM bank_line_retractions WHERE line_id = $1',
      [lineId],
    );
  const retractedConsumer = () => jsm.consumers.info(streamNameFor(isolation.namespace, 'BANK'), 'reconciliation-bank-retracted');
  const breakOf = (breakId: string) =>
    one<{ status: string; resolution_code: string | null; type: string }>('SELECT status, resolution_code, type FROM breaks WHERE break_id = $1', [breakId]);
  const auditCount = async (action: string) =>
    Number((await one<{ count: string }>(`SELECT count(*) FROM outbox_messages WHERE subject = $1`, [`audit.reconciliation.${action}`]))!.count);
  const runDay = async () =>
    (
      await api
        .post('/v1/runs')
        .set('X-Api-Key', TEST_KEYS.ops)
        .send({ custodyAccount: ACCOUNT, businessDate: DAY })
        .expect((response) => expect([200, 201]).toContain(response.status))
    ).body as { status: string; counts: Record<string, unknown> };

  beforeAll(async () => {
    harness = await ReconTestApp.start({
      env: { NATS_REQUEST_TIMEOUT_MS: '300' },
      // No BullMQ worker: what the retractions job does is called below when a test wants it, so a run's own pass is tested alone.
      settings: OFFLINE_RUN_SETTINGS,
      custody: { accountId: CUSTODY_ID, bankAccount: ACCOUNT, currency: 'EUR' },
    });
    ({ isolation, app, api, admin, events } = harness);
    jsm = await jetstreamManager(harness.nats);
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('withdraws a matched line: its match is undone with the reason, the ledger side is pending and pairs with the accepted version', async () => {
    const deposit = movement({ custodyAccountId: CUSTODY_ID, kind: 'deposit', amount: '100.00', currency: 'EUR', valueDate: DAY, reference: 'PLAT-C-000001' });
    const entryId = `${deposit.transactionId}:1`;
    const first = line(1, '100.00', { bankRef: 'C1', endToEndId: 'PLAT-C-000001' });
    await events.statementReceived({
      fileId: first.fileId,
      receivedAt: new Date().toISOString(),
      format: 'camt.053',
      statementId: 'STMT-CORR',
      account: ACCOUNT,
      currency: 'EUR',
      entryCount: 1,
      rejectedCount: 0,
    });
    await events.transactionPosted(deposit);
    await events.lineReceived(first);
    const matchId = await eventually(async () => (await ledgerItem(entryId))?.match_id ?? undefined, 'the first match');
    await eventually(async () => ((await rows('SELECT 1 FROM statements WHERE file_id = $1', [first.fileId])).length > 0 ? true : undefined), 'the statement');

    const retracted = retraction([first.lineId], { fileId: first.fileId });
    await events.publish('bank.line.retracted', retracted);
    const withdrawal = await eventually(() => withdrawalOf(first.lineId), 'the withdrawal');
    expect(withdrawal).toMatchObject({ finding_id: retracted.findingId, undone_match_id: matchId, reason: 'the bank corrected the statement' });
    expect(await bankItem(first.lineId)).toMatchObject({ rule: 'withdrawn' });
    expect(await ledgerItem(entryId)).toMatchObject({ matched_at: null, match_id: null, break_id: null, open: true });
    expect(await one('SELECT undone_at IS NOT NULL AS undone, undo_reason FROM matches WHERE match_id = $1', [matchId])).toEqual({
      undone: true,
      undo_reason: expect.stringContaining(`retracted by gateway finding ${retracted.findingId} (dev-approver): the bank corrected the statement`),
    });
    // The retracted statement leaves continuity and completeness, kept whole aside.
    expect(await rows('SELECT 1 FROM statements WHERE file_id = $1', [first.fileId])).toHaveLength(0);
    expect(await rows('SELECT statement FROM retracted_statements WHERE finding_id = $1', [retracted.findingId])).toHaveLength(1);
    expect(await auditCount('bank-line.withdraw')).toBe(1);
    expect(await auditCount('match.undo')).toBe(1);

    // Delivered again under another message id (a republished retraction): nothing changes.
    await events.publish('bank.line.retracted', retracted);
    await events.publish('bank.line.retracted', retracted, randomUUID());
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await rows('SELECT 1 FROM bank_line_withdrawals WHERE finding_id = $1', [retracted.findingId])).toHaveLength(1);
    expect(await auditCount('bank-line.withdraw')).toBe(1);
    expect(await rows(`SELECT 1 FROM matches WHERE rule = 'withdrawn'`)).toHaveLength(1);

    // The accepted version's line pairs with the ledger entry that went back to pending.
    const accepted = line(1, '100.00', { bankRef: 'C1', endToEndId: 'PLAT-C-000001', fileId: retracted.replacedByFileId });
    await events.lineReceived(accepted);
    const rematched = await eventually(async () => (await ledgerItem(entryId))?.match_id ?? undefined, 'the new match');
    expect(rematched).not.toBe(matchId);
    expect((await bankItem(accepted.lineId))?.match_id).toBe(rematched);
  });

  it('closes the open break of a withdrawn line, and reopens a break its match had closed as a late partner', async () => {
    // An unmatched bank line (no ledger partner) and an unbanked deposit, both in breaks after the run.
    const stray = line(2, '-30.00', { bankRef: 'C2' });
    const unbanked = movement({ custodyAccountId: CUSTODY_ID, kind: 'deposit', amount: '70.00', currency: 'EUR', valueDate: DAY, reference: 'PLAT-C-000002' });
    await events.lineReceived(stray);
    await events.transactionPosted(unbanked);
    const entryId = `${unbanked.transactionId}:1`;
    await eventually(async () => ((await bankItem(stray.lineId)) === undefined || (await ledgerItem(entryId)) === undefined ? undefined : true), 'both items');
    await runDay();
    const strayBreak = await eventually(async () => (await bankItem(stray.lineId))?.break_id ?? undefined, 'the stray line break');
    const unbankedBreak = await eventually(async () => (await ledgerItem(entryId))?.break_id ?? undefined, 'the unbanked deposit break');

    // The deposit's late partner arrives and closes its break.
    const partner = line(3, '70.00', { bankRef: 'C3', endToEndId: 'PLAT-C-000002' });
    await events.lineReceived(partner);
    await eventually(async () => ((await breakOf(unbankedBreak))?.status === 'closed' ? true : undefined), 'the late partner');
    expect((await breakOf(unbankedBreak))?.resolution_code).toBe('late_partner');

    // Both lines are retracted.
    const retracted = retraction([stray.lineId, partner.lineId]);
    await events.publish('bank.line.retracted', retracted);
    await eventually(() => withdrawalOf(partner.lineId), 'the withdrawals');
    expect(await breakOf(strayBreak)).toMatchObject({ status: 'closed', resolution_code: 'withdrawn' });
    expect((await withdrawalOf(stray.lineId))?.closed_break_id).toBe(strayBreak);
    expect(await breakOf(unbankedBreak)).toMatchObject({ status: 'open', resolution_code: null });
    expect(await ledgerItem(entryId)).toMatchObject({ matched_at: null, break_id: unbankedBreak });
    expect(await auditCount('break.reopen')).toBe(1);
    const breaks = (await api.get(`/v1/breaks?account=${ACCOUNT}&status=open&limit=100`).set('X-Api-Key', TEST_KEYS.ops).expect(200)).body.breaks as {
      breakId: string;
    }[];
    expect(breaks.map((item) => item.breakId)).toContain(unbankedBreak);
    expect(breaks.map((item) => item.breakId)).not.toContain(strayBreak);
  });

  it('a retraction that overtakes its line leaves a tombstone and is acknowledged; the run withdraws the line before it matches or opens breaks', async () => {
    const deposit = movement({ custodyAccountId: CUSTODY_ID, kind: 'deposit', amount: '12.34', currency: 'EUR', valueDate: DAY, reference: 'PLAT-C-000004' });
    const entryId = `${deposit.transactionId}:1`;
    const late = line(4, '12.34', { bankRef: 'C4', endToEndId: 'PLAT-C-000004' });
    const retracted = retraction([late.lineId]);
    const delivered = (await retractedConsumer()).delivered.consumer_seq;
    await events.publish('bank.line.retracted', retracted);
    // Delivered again under another message id before the line arrives: still one tombstone.
    await events.publish('bank.line.retracted', retracted, randomUUID());
    await eventually(async () => ((await retractedConsumer()).delivered.consumer_seq >= delivered + 2 ? true : undefined), 'both deliveries');
    await eventually(async () => ((await retractedConsumer()).num_ack_pending === 0 ? true : undefined), 'the acknowledgements');
    expect(await tombstoneOf(late.lineId)).toMatchObject({ finding_id: retracted.findingId, bank_account: ACCOUNT, applied: false });
    expect((await retractedConsumer()).num_redelivered).toBe(0);
    expect(await auditCount('bank-line.withdraw-deferred')).toBe(1);

    // The line and its ledger partner arrive; continuous matching pairs them, as it would any line (it never looks at tombstones).
    await events.transactionPosted(deposit);
    await eventually(async () => (await ledgerItem(entryId)) ?? undefined, 'the deposit');
    await events.lineReceived(late);
    const matchId = await eventually(async () => (await ledgerItem(entryId))?.match_id ?? undefined, 'the continuous match');

    const run = await runDay();
    expect(run.status).toMatch(/^completed/);
    expect(run.counts).toMatchObject({ retractionsApplied: 1 });
    expect(await withdrawalOf(late.lineId)).toMatchObject({ finding_id: retracted.findingId, undone_match_id: matchId });
    expect(await bankItem(late.lineId)).toMatchObject({ rule: 'withdrawn', break_id: null });
    expect(await tombstoneOf(late.lineId)).toMatchObject({ applied: true });
    // Its partner lost its match and is a difference again (past grace 0: a missing_in_bank break), never the line.
    expect(await ledgerItem(entryId)).toMatchObject({ matched_at: null, match_id: null, open: true });
    expect(await rows(`SELECT 1 FROM breaks WHERE $1 = ANY(bank_ids)`, [(await bankItem(late.lineId))!.item_ref])).toHaveLength(0);
    const withdrawAudits = async () =>
      (
        await rows<{ payload: { details: { deferred: boolean } } }>(
          `SELECT payload FROM outbox_messages WHERE subject = 'audit.reconciliation.bank-line.withdraw' AND payload->'details'->>'findingId' = $1`,
          [retracted.findingId],
        )
      ).map((row) => row.payload.details.deferred);
    expect(await withdrawAudits()).toEqual([true]);

    // Run again, and the retractions job: nothing is withdrawn twice.
    expect((await runDay()).counts).toMatchObject({ retractionsApplied: 0 });
    expect(await app.get(BankLineWithdrawals).applyArrivedEverywhere()).toBe(0);
    expect(await rows('SELECT 1 FROM bank_line_withdrawals WHERE finding_id = $1', [retracted.findingId])).toHaveLength(1);
    expect(await withdrawAudits()).toEqual([true]);
  });

  it('the retractions job withdraws a line that arrives after its retraction, without a run; lines already here are withdrawn at once', async () => {
    const present = line(5, '-7.00', { bankRef: 'C5' });
    await events.lineReceived(present);
    await eventually(async () => (await bankItem(present.lineId)) ?? undefined, 'the present line');
    const absent = line(6, '-8.00', { bankRef: 'C6' });
    const retracted = retraction([present.lineId, absent.lineId]);
    await events.publish('bank.line.retracted', retracted);
    await eventually(() => withdrawalOf(present.lineId), 'the withdrawal of the line that was here');
    expect(await tombstoneOf(present.lineId)).toBeUndefined();
    expect(await tombstoneOf(absent.lineId)).toMatchObject({ applied: false });

    await events.lineReceived(absent);
    await eventually(async () => (await bankItem(absent.lineId)) ?? undefined, 'the late line');
    // What the job scheduled every RECON_RETRACTION_SWEEP_INTERVAL_MS runs.
    expect(await app.get(BankLineWithdrawals).applyArrivedEverywhere()).toBe(1);
    expect(await bankItem(absent.lineId)).toMatchObject({ rule: 'withdrawn', break_id: null });
    expect(await tombstoneOf(absent.lineId)).toMatchObject({ applied: true });
    expect(await rows(`SELECT 1 FROM bank_line_withdrawals WHERE finding_id = $1`, [retracted.findingId])).toHaveLength(2);
    expect((await retractedConsumer()).num_redelivered).toBe(0);
  });

  it('opens a rejected_line break per quarantined line and closes it when a reprocess reads the line', async () => {
    const rejected = (overrides: Partial<BankLineRejectedV1>): BankLineRejectedV1 => ({
      quarantineId: randomUUID(),
      fileId: randomUUID(),
      parseId: randomUUID(),
      lineNo: 9,
      reason: 'amount 1X,00 is not a decimal comma number',
      raw: ':61:2501030103C1X,00NTRFBROKEN//GW940REF3',
      account: ACCOUNT,
      currency: 'EUR',
      statementId: 'STMT-CORR',
      rejectedAt: new Date().toISOString(),
      ...overrides,
    });
    const first = rejected({});
    // Same statement and day, another line: its own break. No currency: the custody account's. No account: no break.
    const second = rejected({ lineNo: 11 });
    const noCurrency = rejected({ currency: undefined, lineNo: 0 });
    const nowhere = rejected({ account: undefined, currency: undefined, statementId: undefined });
    for (const event of [first, second, noCurrency, nowhere]) await events.publish('bank.line.rejected', event, event.quarantineId);
    const breakIds = await eventually(async () => {
      const found = await rows<{ break_id: string | null; quarantine_id: string; note: string | null }>(
        'SELECT break_id, quarantine_id, note FROM rejected_bank_lines ORDER BY line_no',
      );
      return found.length === 4 ? found : undefined;
    }, 'the rejected lines');
    expect(breakIds.filter((row) => row.break_id !== null)).toHaveLength(3);
    expect(breakIds.find((row) => row.quarantine_id === nowhere.quarantineId)?.note).toMatch(/no account/);

    const listed = (await api.get(`/v1/breaks?account=${ACCOUNT}&type=rejected_line&limit=100`).set('X-Api-Key', TEST_KEYS.ops).expect(200)).body
      .breaks as Record<string, unknown>[];
    expect(listed).toHaveLength(3);
    expect(listed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'rejected_line',
          category: 'interface',
          severity: 'high',
          currency: 'EUR',
          amount: '0.00',
          bank: [`quarantine:${first.quarantineId}`],
        }),
      ]),
    );
    const firstBreak = breakIds.find((row) => row.quarantine_id === first.quarantineId)!.break_id!;
    expect(await breakOf(firstBreak)).toMatchObject({ status: 'open', type: 'rejected_line' });

    const resolved = {
      quarantineId: first.quarantineId,
      fileId: first.fileId,
      lineNo: 9,
      resolvedByParseId: randomUUID(),
      resolvedAt: new Date().toISOString(),
    };
    await events.publish('bank.line.rejection-resolved', resolved);
    await eventually(async () => ((await breakOf(firstBreak))?.status === 'closed' ? true : undefined), 'the reprocessed break');
    expect((await breakOf(firstBreak))?.resolution_code).toBe('reprocessed');
    // Again under another id: nothing more.
    await events.publish('bank.line.rejection-resolved', resolved);
    await events.publish('bank.line.rejected', first);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await rows(`SELECT 1 FROM breaks WHERE type = 'rejected_line'`)).toHaveLength(3);
    expect(Number((await one<{ count: string }>(`SELECT count(*) FROM outbox_messages WHERE subject = 'recon.break.closed'`))!.count)).toBeGreaterThanOrEqual(
      1,
    );
  });
});
