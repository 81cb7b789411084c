import { randomUUID } from 'node:crypto';
import type { BankLineReceivedV1 } from '@recon/contracts';
import { TEST_KEYS } from '@recon/testing';
import { bankLine, movement } from './recon-events.fixture';
import { eventually, OFFLINE_RUN_SETTINGS, ReconTestApp } from './recon-test-app';

const ACCOUNT = 'DE02120300000000202051';
const CUSTODY_ID = 'custody-intraday-eur';

/** The same movement in an intraday report (camt.054) and in the day's statement (camt.053), over real NATS and Postgres. */
describe('reconciliation: intraday reports confirmed by the statement', () => {
  let harness: ReconTestApp;

  const rows = <T>(sql: string, params: unknown[] = []) => harness.rows<T>(sql, params);
  const one = <T>(sql: string, params: unknown[] = []) => harness.one<T>(sql, params);
  const bankItem = (lineId: string) =>
    one<{ matched: boolean; rule: string | null; ledger_ids: string[] | null; break_id: string | null }>(
      `SELECT NOT EXISTS (SELECT 1 FROM bank_open_items o WHERE o.item_ref = b.item_ref) AS matched, m.rule, m.ledger_ids, b.break_id::text
         FROM bank_items b LEFT JOIN bank_item_matches x USING (item_ref) LEFT JOIN matches m ON m.match_id = x.match_id WHERE b.line_id = $1`,
      [lineId],
    );
  const stored = (lineId: string) => eventually(async () => ((await bankItem(lineId)) === undefined ? undefined : true), `line ${lineId}`);
  const runDay = async (day: string) =>
    (
      await harness.api
        .post('/v1/runs')
        .set('X-Api-Key', TEST_KEYS.ops)
        .send({ custodyAccount: ACCOUNT, businessDate: day })
        .expect((response) => expect([200, 201]).toContain(response.status))
    ).body as { status: string; counts: Record<string, unknown> };
  const auditCount = async () =>
    Number((await one<{ count: string }>(`SELECT count(*) FROM outbox_messages WHERE subject = 'audit.reconciliation.bank-line.confirm-intraday'`))!.count);

  /** Publishes one statement of `format` holding `lines` (its bank.statement.received first, as the gateway does). */
  async function deliver(format: 'camt.053' | 'camt.054', day: string, lines: readonly { amount: string; bankRef: string; endToEndId?: string }[]) {
    const fileId = randomUUID();
    const statementId = `${format === 'camt.054' ? 'NTFCTN' : 'STMT'}-${randomUUID().slice(0, 8)}`;
    await harness.events.statementReceived({
      fileId,
      receivedAt: new Date().toISOString(),
      format,
      statementId,
      account: ACCOUNT,
      currency: 'EUR',
      entryCount: lines.length,
      rejectedCount: 0,
    });
    const published: BankLineReceivedV1[] = [];
    for (const [index, line] of lines.entries()) {
      const received = bankLine({
        account: ACCOUNT,
        currency: 'EUR',
        fileId,
        statementId,
        lineNo: index + 1,
        amount: line.amount,
        valueDate: day,
        bookingDate: day,
        bankRef: line.bankRef,
        ...(line.endToEndId === undefined ? {} : { endToEndId: line.endToEndId }),
      });
      await harness.events.lineReceived(received);
      published.push(received);
    }
    for (const line of published) await stored(line.lineId);
    return published;
  }

  async function deposit(day: string, amount: string, reference: string): Promise<string> {
    const posted = movement({ custodyAccountId: CUSTODY_ID, kind: 'deposit', amount, currency: 'EUR', valueDate: day, reference });
    await harness.events.transactionPosted(posted);
    return `${posted.transactionId}:1`;
  }

  beforeAll(async () => {
    harness = await ReconTestApp.start({
      env: { NATS_REQUEST_TIMEOUT_MS: '300' },
      settings: OFFLINE_RUN_SETTINGS,
      custody: { accountId: CUSTODY_ID, bankAccount: ACCOUNT, currency: 'EUR' },
    });
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('confirms a matched intraday line with its statement copy: no duplicate break, and a re-run changes nothing', async () => {
    const day = '2025-04-01';
    const [intraday] = await deliver('camt.054', day, [{ amount: '100.00', bankRef: 'ACSR-0001', endToEndId: 'PLAT-I-000001' }]);
    const entryId = await deposit(day, '100.00', 'PLAT-I-000001');
    await eventually(async () => ((await bankItem(intraday!.lineId))?.matched === true ? true : undefined), 'the intraday match');
    const [statement] = await deliver('camt.053', day, [{ amount: '100.00', bankRef: 'ACSR-0001', endToEndId: 'PLAT-I-000001' }]);
    expect(await bankItem(statement!.lineId)).toMatchObject({ matched: false });

    const run = await runDay(day);
    expect(run.counts.intradayConfirmed).toBe(1);
    expect(await bankItem(intraday!.lineId)).toMatchObject({ matched: true, rule: 'ref-exact', ledger_ids: [entryId] });
    expect(await bankItem(statement!.lineId)).toMatchObject({ matched: true, rule: 'intraday-confirmed', ledger_ids: [], break_id: null });
    expect(await one('SELECT intraday_line_id::text, statement_line_id::text, withdrawn_line_id::text FROM intraday_confirmations')).toEqual({
      intraday_line_id: intraday!.lineId,
      statement_line_id: statement!.lineId,
      withdrawn_line_id: statement!.lineId,
    });
    expect(
      await rows('SELECT 1 FROM breaks WHERE $1 = ANY(bank_ids)', [
        (await one<{ item_ref: string }>('SELECT item_ref FROM bank_items WHERE line_id = $1', [statement!.lineId]))!.item_ref,
      ]),
    ).toHaveLength(0);
    expect(await auditCount()).toBe(1);

    const again = await runDay(day);
    expect(again.counts.intradayConfirmed).toBe(0);
    expect(await rows('SELECT 1 FROM intraday_confirmations')).toHaveLength(1);
    expect(await auditCount()).toBe(1);
  });

  it('when both copies are open, the intraday one leaves and the ledger entry pairs with the statement line', async () => {
    const day = '2025-04-02';
    const [intraday] = await deliver('camt.054', day, [{ amount: '250.00', bankRef: 'ACSR-0002' }]);
    const [statement] = await deliver('camt.053', day, [{ amount: '250.00', bankRef: 'ACSR-0002' }]);

    const run = await runDay(day);
    expect(run.counts.intradayConfirmed).toBe(1);
    expect(await bankItem(intraday!.lineId)).toMatchObject({ matched: true, rule: 'intraday-confirmed' });
    // Without its ledger partner yet (grace 0), the statement line is the one difference of the day.
    const breakId = (await bankItem(statement!.lineId))?.break_id;
    expect(breakId).toEqual(expect.any(String));

    const entryId = await deposit(day, '250.00', 'PLAT-I-000002');
    const matched = await eventually(async () => {
      const item = await bankItem(statement!.lineId);
      return item?.matched === true ? item : undefined;
    }, 'the late partner');
    expect(matched.ledger_ids).toEqual([entryId]);
    expect(await one('SELECT status, resolution_code FROM breaks WHERE break_id = $1', [breakId])).toEqual({
      status: 'closed',
      resolution_code: 'late_partner',
    });
  });

  it('keeps a true double booking: one statement copy confirms the intraday line, the second is a break', async () => {
    const day = '2025-04-03';
    const [intraday] = await deliver('camt.054', day, [{ amount: '70.00', bankRef: 'ACSR-0003', endToEndId: 'PLAT-I-000003' }]);
    await deposit(day, '70.00', 'PLAT-I-000003');
    await eventually(async () => ((await bankItem(intraday!.lineId))?.matched === true ? true : undefined), 'the intraday match');
    const copies = await deliver('camt.053', day, [
      { amount: '70.00', bankRef: 'ACSR-0003', endToEndId: 'PLAT-I-000003' },
      { amount: '70.00', bankRef: 'ACSR-0003', endToEndId: 'PLAT-I-000003' },
    ]);

    const run = await runDay(day);
    expect(run.counts.intradayConfirmed).toBe(1);
    const states = await Promise.all(copies.map((copy) => bankItem(copy.lineId)));
    const confirmed = states.filter((state) => state?.rule === 'intraday-confirmed');
    const left = states.filter((state) => state?.matched === false);
    expect(confirmed).toHaveLength(1);
    expect(left).toHaveLength(1);
    // Its look-alikes are matched already, so the run sees it alone: money the bank booked without a ledger entry.
    expect(await one('SELECT type FROM breaks WHERE break_id = $1', [left[0]!.break_id])).toEqual({ type: 'missing_in_ledger' });
  });
});
