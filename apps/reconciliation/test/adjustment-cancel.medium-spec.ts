import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { TEST_KEYS } from '@recon/testing';
import type { Client } from 'pg';
import request from 'supertest';
import { PostAdjustmentUseCase } from '../src/breaks/application/post-adjustment.use-case';
import { bankLine } from './recon-events.fixture';
import { eventually, ReconTestApp } from './recon-test-app';

const ACCOUNT = 'DE75512108001245126199';
const DAY = '2025-02-03';
/** Bank credits without a ledger entry: each becomes its own missing_in_ledger break to resolve with an adjustment. */
const BREAKS = 12;
const RACES = 6;

type LedgerMode = 'accept' | 'refuse' | 'unavailable';

/**
 * A stand-in for the ledger: it accepts, refuses (422, as for an account that does not exist) or is unavailable
 * (503), and can hold its answers until released, so that a posting is in flight while the test acts.
 */
class FakeLedger {
  mode: LedgerMode = 'accept';
  /** Every posting request received, with the answer it got. */
  readonly requests: { idempotencyKey: string; status: number }[] = [];
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private readonly server = http.createServer((req, res) => this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  accepted(adjustmentId: string): number {
    return this.requests.filter((item) => item.idempotencyKey === `recon-adjustment-${adjustmentId}` && item.status === 201).length;
  }

  received(adjustmentId: string): number {
    return this.requests.filter((item) => item.idempotencyKey === `recon-adjustment-${adjustmentId}`).length;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method === 'GET' && req.url?.startsWith('/v1/exports/ledger.csv')) {
      res.writeHead(200, { 'content-type': 'text/csv' }).end('entry_id,account,amount,currency,value_date,reference\n');
      return;
    }
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"lines":[]}');
      return;
    }
    req.resume();
    req.on('end', () => {
      void (async () => {
        await this.gate;
        const idempotencyKey = String(req.headers['idempotency-key']);
        const status = this.mode === 'accept' ? 201 : this.mode === 'refuse' ? 422 : 503;
        this.requests.push({ idempotencyKey, status });
        const body =
          status === 201
            ? { transactionId: randomUUID() }
            : status === 422
              ? { error: 'JOURNAL.ACCOUNT_NOT_FOUND', message: "account 'customer:gone' does not exist" }
              : { message: 'ledger unavailable' };
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      })();
    });
  }
}

describe('reconciliation: cancelling an adjustment', () => {
  let harness: ReconTestApp;
  let app: NestExpressApplication;
  let api: ReturnType<typeof request>;
  let admin: Client;
  const ledger = new FakeLedger();
  const breakIds: string[] = [];

  const as = (key: string, test: request.Test) => test.set('X-Api-Key', key);
  const rows = async <T>(sql: string, params: unknown[] = []) => (await admin.query(sql, params)).rows as T[];
  const adjustmentOf = async (adjustmentId: string) => (await as(TEST_KEYS.ops, api.get(`/v1/adjustments/${adjustmentId}`)).expect(200)).body;
  const breakOf = async (breakId: string) => (await as(TEST_KEYS.ops, api.get(`/v1/breaks/${breakId}`)).expect(200)).body;
  const cancel = (key: string, adjustmentId: string, reason = 'the customer account was closed before posting') =>
    as(key, api.post(`/v1/adjustments/${adjustmentId}/cancel`).send({ reason }));
  const propose = async (breakId: string, key: string = TEST_KEYS.ops): Promise<string> =>
    (
      await as(
        key,
        api.post(`/v1/breaks/${breakId}/adjustments`).send({
          transaction: {
            valueDate: DAY,
            reference: `ADJ-${breakId.slice(0, 8)}`,
            lines: [
              { account: 'custody:eur', side: 'debit', amount: '10.00', currency: 'EUR' },
              { account: 'customer:gone', side: 'credit', amount: '10.00', currency: 'EUR' },
            ],
          },
        }),
      ).expect(201)
    ).body.adjustmentId as string;
  const approve = async (adjustmentId: string) => (await as(TEST_KEYS.approver, api.post(`/v1/adjustments/${adjustmentId}/approve`)).expect(200)).body;
  /** Proposed, approved and refused by the ledger: the adjustment the known gap left stuck. */
  const refusedAdjustment = async (breakId: string): Promise<string> => {
    ledger.mode = 'refuse';
    const adjustmentId = await propose(breakId);
    await approve(adjustmentId);
    await eventually(async () => ((await adjustmentOf(adjustmentId)).ledgerRefusedAt === null ? undefined : true), 'the ledger refusing the posting');
    return adjustmentId;
  };
  const auditsOf = async (action: string, entityId: string) =>
    (
      await rows<{ payload: { entityId?: string; entity?: { id: string } } & Record<string, unknown> }>(
        `SELECT payload FROM outbox_messages WHERE subject = $1 ORDER BY position`,
        [`audit.reconciliation.${action}`],
      )
    ).filter((row) => JSON.stringify(row.payload).includes(entityId));

  beforeAll(async () => {
    const ledgerUrl = await ledger.start();
    harness = await ReconTestApp.start({
      env: { NATS_REQUEST_TIMEOUT_MS: '500' },
      settings: {
        RECON_LEDGER_URL: ledgerUrl,
        RECON_GATEWAY_URL: ledgerUrl,
        RECON_GRACE_DAYS_DEFAULT: '0',
        RECON_ADJUSTMENT_RETRY_BASE_MS: '100',
        RECON_PENDING_SWEEP_INTERVAL_MS: '3600000',
      },
      custody: { accountId: 'custody-cancel-eur', bankAccount: ACCOUNT, currency: 'EUR' },
    });
    ({ app, api, admin } = harness);
    const events = harness.events;
    for (let lineNo = 1; lineNo <= BREAKS; lineNo += 1) {
      await events.lineReceived(
        bankLine({
          account: ACCOUNT,
          currency: 'EUR',
          statementId: 'STMT-CANCEL',
          lineNo,
          amount: `${100 + lineNo}.00`,
          valueDate: DAY,
          bankRef: `C${lineNo}`,
        }),
      );
    }
    await eventually(async () => ((await rows('SELECT 1 FROM bank_items')).length === BREAKS ? true : undefined), 'bank lines stored');
    await as(TEST_KEYS.ops, api.post('/v1/runs').send({ custodyAccount: ACCOUNT, businessDate: DAY })).expect(201);
    const opened = await rows<{ break_id: string }>(`SELECT break_id FROM breaks WHERE type = 'missing_in_ledger' ORDER BY amount_minor`);
    expect(opened).toHaveLength(BREAKS);
    breakIds.push(...opened.map((row) => row.break_id));
  });

  afterAll(async () => {
    ledger.release();
    await harness?.close();
    await ledger.stop();
  });

  it('lets the proposer, ops, an approver or admin cancel a proposal, with a reason, and keeps the break open', async () => {
    const breakId = breakIds[0]!;
    const proposals = [await propose(breakId), await propose(breakId), await propose(breakId), await propose(breakId)];
    await api.post(`/v1/adjustments/${proposals[0]!}/cancel`).send({ reason: 'no key' }).expect(401);
    await cancel(TEST_KEYS.auditor, proposals[0]!).expect(403);
    const noReason = (await as(TEST_KEYS.ops, api.post(`/v1/adjustments/${proposals[0]!}/cancel`).send({ reason: '  ' })).expect(400)).body;
    expect(noReason.message).toContain('a reason is required');
    await as(TEST_KEYS.ops, api.post(`/v1/adjustments/${proposals[0]!}/cancel`).send({})).expect(400);
    await cancel(TEST_KEYS.ops, randomUUID()).expect(404);

    const cancelledBy: string[] = [];
    for (const [index, key] of [TEST_KEYS.ops, TEST_KEYS.ops2, TEST_KEYS.approver, TEST_KEYS.admin].entries()) {
      const view = (await cancel(key, proposals[index]!).expect(200)).body;
      expect(view).toMatchObject({ status: 'cancelled', cancelReason: 'the customer account was closed before posting', cancelledAt: expect.any(String) });
      cancelledBy.push(view.cancelledBy as string);
    }
    expect(cancelledBy).toEqual(['dev-ops', 'dev-ops-2', 'dev-approver', 'dev-admin']);
    // A cancelled proposal cannot be approved; the break is still open for a new one.
    const approveCancelled = (await as(TEST_KEYS.approver, api.post(`/v1/adjustments/${proposals[0]!}/approve`)).expect(409)).body;
    expect(approveCancelled.error).toBe('ADJUSTMENT.NOT_PROPOSED');
    expect(await breakOf(breakId)).toMatchObject({ status: 'open' });
    await propose(breakId);
    const audits = await auditsOf('adjustment.cancel', proposals[0]!);
    expect(audits).toHaveLength(1);
    expect(JSON.stringify(audits[0]!.payload)).toContain('"reason":"the customer account was closed before posting"');
    expect(ledger.requests).toEqual([]);
  });

  it('cancels an approved adjustment the ledger refused (approver or admin only), reopens the break, and is idempotent', async () => {
    const breakId = breakIds[1]!;
    const adjustmentId = await refusedAdjustment(breakId);
    const stuck = await adjustmentOf(adjustmentId);
    expect(stuck).toMatchObject({ status: 'approved-pending-posting', postAttempts: 1, lastError: expect.stringContaining('422') });
    expect(await breakOf(breakId)).toMatchObject({ status: 'resolved', resolution: { code: 'adjusted_in_ledger' } });

    for (const key of [TEST_KEYS.ops, TEST_KEYS.ops2]) {
      const refused = (await cancel(key, adjustmentId).expect(403)).body;
      expect(refused).toMatchObject({
        error: 'ADJUSTMENT.CANCEL_FORBIDDEN',
        message: `adjustment '${adjustmentId}' is approved: only an approver or admin may cancel it`,
      });
    }
    const first = (await cancel(TEST_KEYS.approver, adjustmentId).expect(200)).body;
    expect(first).toMatchObject({ status: 'cancelled', cancelledBy: 'dev-approver', postedAt: null, ledgerTransactionId: null });
    // Again, by anyone allowed and with another reason: nothing changes and nothing more is recorded.
    const again = (await cancel(TEST_KEYS.admin, adjustmentId, 'a second click').expect(200)).body;
    expect(again).toEqual(first);
    expect(await auditsOf('adjustment.cancel', adjustmentId)).toHaveLength(1);

    const reopened = await breakOf(breakId);
    expect(reopened).toMatchObject({ status: 'open', resolution: null });
    const reopenAudits = await auditsOf('break.reopen', breakId);
    expect(reopenAudits).toHaveLength(1);
    const openedEvents = await rows<{ payload: { breakId: string } }>(`SELECT payload FROM outbox_messages WHERE subject = 'recon.break.opened'`);
    expect(openedEvents.filter((row) => row.payload.breakId === breakId)).toHaveLength(2); // the run's, and the reopening

    // A new resolution: proposed, approved, posted; a posted adjustment is never cancelled.
    ledger.mode = 'accept';
    const next = await propose(breakId);
    await approve(next);
    const posted = await eventually(async () => {
      const view = await adjustmentOf(next);
      return view.status === 'posted' ? view : undefined;
    }, 'the new adjustment posted');
    const refusal = (await cancel(TEST_KEYS.admin, next).expect(409)).body;
    expect(refusal).toMatchObject({ error: 'ADJUSTMENT.POSTED', message: expect.stringContaining(posted.ledgerTransactionId as string) });
    expect(await breakOf(breakId)).toMatchObject({ status: 'resolved' });
    expect(ledger.accepted(adjustmentId)).toBe(0);
  });

  it('refuses to cancel while a posting attempt is in flight or its outcome is unknown, and the posting then completes', async () => {
    // In flight: the ledger holds its answer.
    ledger.mode = 'accept';
    ledger.hold();
    const inFlight = await propose(breakIds[2]!);
    await approve(inFlight);
    await eventually(async () => ((await adjustmentOf(inFlight)).postAttempts === 1 ? true : undefined), 'the posting attempt claimed');
    const whileInFlight = (await cancel(TEST_KEYS.approver, inFlight).expect(409)).body;
    expect(whileInFlight).toMatchObject({ error: 'ADJUSTMENT.POSTING_OUTCOME_UNKNOWN', message: expect.stringContaining('the ledger may hold it') });
    ledger.release();
    await eventually(async () => ((await adjustmentOf(inFlight)).status === 'posted' ? true : undefined), 'the held posting completing');
    expect(ledger.accepted(inFlight)).toBe(1);

    // Unknown outcome: the ledger answered 503; the retries go on and post it once it is back.
    ledger.mode = 'unavailable';
    const unknown = await propose(breakIds[3]!);
    await approve(unknown);
    await eventually(async () => ((await adjustmentOf(unknown)).lastError === null ? undefined : true), 'a failed attempt');
    const whileUnknown = (await cancel(TEST_KEYS.admin, unknown).expect(409)).body;
    expect(whileUnknown).toMatchObject({ error: 'ADJUSTMENT.POSTING_OUTCOME_UNKNOWN', message: expect.stringContaining('503') });
    ledger.mode = 'accept';
    await eventually(async () => ((await adjustmentOf(unknown)).status === 'posted' ? true : undefined), 'the retried posting');
    expect(ledger.accepted(unknown)).toBe(1);
  });

  it('never posts a cancelled adjustment when a retry comes after the cancel', async () => {
    const adjustmentId = await refusedAdjustment(breakIds[4]!);
    await cancel(TEST_KEYS.approver, adjustmentId).expect(200);
    ledger.mode = 'accept';
    const requestsBefore = ledger.received(adjustmentId);
    expect(await app.get(PostAdjustmentUseCase).execute(adjustmentId)).toBe('cancelled');
    expect(ledger.received(adjustmentId)).toBe(requestsBefore);
    expect(await adjustmentOf(adjustmentId)).toMatchObject({ status: 'cancelled', postAttempts: 1 });
    // The database backs it: a cancelled adjustment cannot carry a posting.
    await expect(
      admin.query(`UPDATE adjustments SET posted_at = now(), ledger_transaction_id = $2 WHERE adjustment_id = $1`, [adjustmentId, randomUUID()]),
    ).rejects.toThrow(/adjustments_cancelled_never_posted/);
  });

  it('lets exactly one of a cancel and a concurrent posting retry win', async () => {
    const adjustmentIds: string[] = [];
    for (let index = 0; index < RACES; index += 1) adjustmentIds.push(await refusedAdjustment(breakIds[5 + index]!));
    ledger.mode = 'accept';
    const posting = app.get(PostAdjustmentUseCase);
    const outcomes = await Promise.all(
      adjustmentIds.map(async (adjustmentId, index) => {
        // The retry starts 0-50 ms after the cancel request, so that either may reach the row first.
        const [cancelled, posted] = await Promise.all([
          cancel(TEST_KEYS.approver, adjustmentId).then((response) => response.status),
          new Promise((resolve) => setTimeout(resolve, index * 10)).then(() => posting.execute(adjustmentId)),
        ]);
        return { adjustmentId, cancelled, posted, view: await adjustmentOf(adjustmentId) };
      }),
    );
    for (const outcome of outcomes) {
      expect([200, 409]).toContain(outcome.cancelled);
      if (outcome.cancelled === 200) {
        // The cancel took the row first: the retry found it cancelled and never called the ledger.
        expect(outcome).toMatchObject({ posted: 'cancelled', view: { status: 'cancelled', postedAt: null } });
        expect(ledger.accepted(outcome.adjustmentId)).toBe(0);
        expect(await auditsOf('adjustment.cancel', outcome.adjustmentId)).toHaveLength(1);
        expect(await auditsOf('adjustment.post', outcome.adjustmentId)).toHaveLength(0);
      } else {
        // The retry claimed it first: the cancel was refused, the ledger holds it, it is posted.
        expect(outcome).toMatchObject({ cancelled: 409, posted: 'posted', view: { status: 'posted', cancelledAt: null } });
        expect(ledger.accepted(outcome.adjustmentId)).toBe(1);
        expect(await auditsOf('adjustment.cancel', outcome.adjustmentId)).toHaveLength(0);
        expect(await auditsOf('adjustment.post', outcome.adjustmentId)).toHaveLength(1);
      }
    }
  });
});
