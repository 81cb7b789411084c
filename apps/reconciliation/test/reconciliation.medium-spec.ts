import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { DEVELOPMENT_API_KEYS } from '@recon/config';
import { LEDGER_REQUIRED_BALANCE_RPC, rpcSubjectFor, streamNameFor, subjectFor } from '@recon/messaging';
import { TEST_KEYS, TEST_REDIS_URL, type TestIsolation } from '@recon/testing';
import { Queue } from 'bullmq';
import { RECON_QUEUE_NAME } from '../src/runs/infrastructure/recon-jobs';
import type { Client } from 'pg';
import request from 'supertest';
import { bankLine, movement, type ReconEventPublisher } from './recon-events.fixture';
import { eventually, ReconTestApp } from './recon-test-app';

const ACCOUNT = 'DE89370400440532013000';
const CUSTODY_ID = 'custody-eur';
const DAY = '2025-01-02';
/** An identity holding both ops and approver: four eyes must still stop it approving its own proposal. */
const BOTH_ROLES_KEY = 'alice-both-roles-key-0001';

/**
 * A stand-in for the ledger's HTTP API (the day's CSV export, transaction posting that can be made to fail) and for
 * the bank gateway's record of the lines it published (`GET /v1/lines?account&date`, NDJSON ending in an end line).
 */
class FakeLedger {
  /** Every line the gateway published (bank.line.received payloads), whether or not its event reached reconciliation. */
  readonly gatewayLines: Record<string, unknown>[] = [];
  readonly gatewayDaysAsked: string[] = [];
  /** The gateway fails midway: its answer ends without the end line. */
  gatewayCutShort = false;
  exportCsv = 'entry_id,account,amount,currency,value_date,reference,sub_account,booking_date,description,kind,batch_reference\n';
  failPosting = false;
  readonly postings: { idempotencyKey: string | undefined; body: unknown }[] = [];
  private readonly server = http.createServer((req, res) => this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.headers['x-api-key'] !== TEST_KEYS.service) {
      res.writeHead(401).end();
      return;
    }
    if (req.method === 'GET' && req.url?.startsWith('/v1/exports/ledger.csv')) {
      res.writeHead(200, { 'content-type': 'text/csv' }).end(this.exportCsv);
      return;
    }
    if (req.method === 'GET' && req.url?.startsWith('/v1/lines?')) {
      const query = new URL(req.url, 'http://gateway').searchParams;
      const [account, date] = [query.get('account'), query.get('date')];
      this.gatewayDaysAsked.push(`${account}:${date}`);
      const lines = this.gatewayLines.filter((line) => line.account === account && (line.bookingDate === date || line.valueDate === date));
      res
        .writeHead(200, { 'content-type': 'application/x-ndjson' })
        .end([...lines, ...(this.gatewayCutShort ? [] : [{ end: true, lines: lines.length }])].map((line) => `${JSON.stringify(line)}\n`).join(''));
      return;
    }
    if (req.method === 'POST' && req.url === '/v1/transactions') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (this.failPosting) {
          res.writeHead(503).end('{"message":"ledger unavailable"}');
          return;
        }
        this.postings.push({ idempotencyKey: req.headers['idempotency-key'] as string | undefined, body: JSON.parse(body) });
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ transactionId: randomUUID() }));
      });
      return;
    }
    res.writeHead(404).end();
  }
}

describe('reconciliation service', () => {
  let harness: ReconTestApp;
  let isolation: TestIsolation;
  let api: ReturnType<typeof request>;
  let admin: Client;
  let nats: NatsConnection;
  let jsm: JetStreamManager;
  let events: ReconEventPublisher;
  const ledger = new FakeLedger();
  const requiredBalance = '1400.00';

  const as = (key: string, test: request.Test) => test.set('X-Api-Key', key);
  const rows = async <T>(sql: string, params: unknown[] = []) => (await admin.query(sql, params)).rows as T[];
  const count = async (sql: string) => Number((await admin.query(sql)).rows[0].count);
  const breaksOf = async (query = '') =>
    (await as(TEST_KEYS.ops, api.get(`/v1/breaks?account=${ACCOUNT}${query.includes('limit=') ? '' : '&limit=100'}${query}`)).expect(200)).body
      .breaks as Record<string, unknown>[];

  // The day: each ledger movement and bank line named after what should become of it.
  const matchedDeposit = movement({
    custodyAccountId: CUSTODY_ID,
    kind: 'deposit',
    amount: '100.00',
    currency: 'EUR',
    valueDate: DAY,
    reference: 'PLAT-D-000001',
  });
  const matchedWithdrawal = movement({
    custodyAccountId: CUSTODY_ID,
    kind: 'withdrawal',
    amount: '50.00',
    currency: 'EUR',
    valueDate: DAY,
    reference: 'PLAT-W-000002',
  });
  const shortDeposit = movement({
    custodyAccountId: CUSTODY_ID,
    kind: 'deposit',
    amount: '200.00',
    currency: 'EUR',
    valueDate: DAY,
    reference: 'PLAT-D-000003',
  });
  const unbankedDeposit = movement({
    custodyAccountId: CUSTODY_ID,
    kind: 'deposit',
    amount: '70.00',
    currency: 'EUR',
    valueDate: DAY,
    reference: 'PLAT-D-000004',
  });
  const lateDeposit = movement({ custodyAccountId: CUSTODY_ID, kind: 'deposit', amount: '25.00', currency: 'EUR', valueDate: DAY, reference: 'PLAT-D-000007' });
  const silentMatchedId = randomUUID();
  const silentUnmatchedId = randomUUID();
  const statementFileId = randomUUID();
  const line = (lineNo: number, amount: string, extra: Record<string, unknown>) =>
    bankLine({
      account: ACCOUNT,
      currency: 'EUR',
      statementId: 'STMT-0102',
      lineNo,
      amount,
      valueDate: DAY,
      bookingDate: DAY,
      fileId: statementFileId,
      ...extra,
    });
  const lines = [
    line(1, '100.00', { bankRef: 'B1', endToEndId: 'PLAT-D-000001' }),
    line(2, '-50.00', { bankRef: 'B2', remittance: 'payout plat w 000002 thank you' }),
    line(3, '199.90', { bankRef: 'B3', endToEndId: 'PLAT-D-000003' }),
    line(4, '-30.00', { bankRef: 'B4' }),
    line(5, '40.00', { bankRef: 'B5', endToEndId: 'SOMEONE-ELSE-5' }),
    line(6, '25.00', { bankRef: 'B6', endToEndId: 'PLAT-D-000007' }),
    line(7, '60.00', { bankRef: 'B7', endToEndId: 'PLAT-D-000008' }),
  ];

  // A line the gateway stored and listed but whose event never arrived.
  const silentLine = line(8, '-12.00', { bankRef: 'B8' });

  beforeAll(async () => {
    const ledgerUrl = await ledger.start();
    ledger.gatewayLines.push(...lines, silentLine);
    harness = await ReconTestApp.start({
      env: { API_KEYS: `${DEVELOPMENT_API_KEYS},${BOTH_ROLES_KEY}=alice:ops|approver`, NATS_REQUEST_TIMEOUT_MS: '1000' },
      settings: {
        RECON_LEDGER_URL: ledgerUrl,
        RECON_GATEWAY_URL: ledgerUrl,
        RECON_GRACE_DAYS_DEFAULT: '0',
        RECON_ADJUSTMENT_RETRY_BASE_MS: '100',
        RECON_PENDING_SWEEP_INTERVAL_MS: '3600000',
        RECON_CONSUMER_CONCURRENCY: '4',
      },
    });
    ({ isolation, api, admin, nats, events } = harness);
    jsm = await jetstreamManager(nats);
    // The ledger's required-balance RPC, answered here so that the test does not need the ledger process.
    nats.subscribe(rpcSubjectFor(isolation.namespace, LEDGER_REQUIRED_BALANCE_RPC), {
      callback: (_error, message) => {
        const asked = JSON.parse(message.string()) as { asOfDate: string; bankAccount?: string };
        message.respond(
          JSON.stringify({
            ok: true,
            balances: [
              {
                custodyAccount: 'custody:eur',
                bankId: 'COBADEFFXXX',
                bankAccount: ACCOUNT,
                currency: 'EUR',
                asOfDate: asked.asOfDate,
                requiredBalance,
                ledgerBalance: requiredBalance,
              },
            ],
          }),
        );
      },
    });
  });

  afterAll(async () => {
    await harness?.close();
    await ledger.stop();
  });

  it('matches a day continuously, then the run opens exactly the expected breaks and raises the shortfall', async () => {
    await events.custodyAccountOpened({ accountId: CUSTODY_ID, bankAccount: ACCOUNT, currency: 'EUR' });
    for (const transaction of [matchedDeposit, matchedWithdrawal, shortDeposit, unbankedDeposit]) await events.transactionPosted(transaction);
    for (const item of lines) await events.lineReceived(item);
    await events.statementReceived({
      fileId: statementFileId,
      receivedAt: new Date().toISOString(),
      format: 'camt.053',
      statementId: 'STMT-0102',
      account: ACCOUNT,
      currency: 'EUR',
      sequence: '2',
      from: DAY,
      to: DAY,
      openingBalance: { amount: '1000.00', date: '2025-01-01' },
      closingBalance: { amount: '1332.90', date: DAY },
      entryCount: 8,
      rejectedCount: 0,
    });
    // Two entries the ledger booked whose events never arrived: the export shows them.
    ledger.exportCsv +=
      [matchedDeposit, matchedWithdrawal, shortDeposit, unbankedDeposit]
        .map(
          (t, index) =>
            `${t.transactionId}:${t.lines.findIndex((l) => l.accountKind === 'custody') + 1},${ACCOUNT},${index === 1 ? '-50.00' : t.lines[0]!.amount},EUR,${DAY},${t.reference},,,,,`,
        )
        .join('\n') +
      `\n${silentMatchedId}:1,${ACCOUNT},60.00,EUR,${DAY},PLAT-D-000008,,,,,\n${silentUnmatchedId}:1,${ACCOUNT},15.00,EUR,${DAY},PLAT-D-000009,,,,,\n`;

    await eventually(
      async () => ((await count(`SELECT count(*) FROM bank_items`)) === 7 && (await count(`SELECT count(*) FROM ledger_items`)) === 4 ? true : undefined),
      'items stored',
    );
    await eventually(async () => ((await count(`SELECT count(*) FROM matches`)) === 2 ? true : undefined), 'continuous matches');
    const continuous = await rows<{ rule: string; ledger_ids: string[]; bank_ids: string[] }>('SELECT rule, ledger_ids, bank_ids FROM matches ORDER BY rule');
    expect(continuous).toEqual([
      { rule: 'ref-exact', ledger_ids: [`${matchedDeposit.transactionId}:1`], bank_ids: ['B1'] },
      { rule: 'ref-in-text', ledger_ids: [`${matchedWithdrawal.transactionId}:2`], bank_ids: ['B2'] },
    ]);
    expect(await breaksOf()).toEqual([]);

    const run = (await as(TEST_KEYS.ops, api.post('/v1/runs').send({ custodyAccount: ACCOUNT, businessDate: DAY })).expect(201)).body;
    expect(run).toMatchObject({ status: 'completed', warnings: [] });
    expect(run.counts).toMatchObject({
      missingEvents: 2,
      missingBankLineEvents: 1,
      matchGroups: 1,
      breaksOpened: 8,
      statementFindings: 0,
      matchesByRule: { 'ref-exact': { groups: 1 } },
    });
    expect(run.run).toMatchObject({
      engineVersion: expect.any(String),
      rulesHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      ledgerHash: expect.any(String),
      bankHash: expect.any(String),
    });
    expect(run.autoMatchRate).toBeCloseTo(6 / 14, 5);

    const breaks = await breaksOf();
    const summary = breaks
      .map((item) => `${item.type}:${item.severity}:${item.amount}:${(item.ledger as string[]).length}/${(item.bank as string[]).join(',')}`)
      .sort();
    expect(summary).toEqual([
      'amount_mismatch:high:0.10:1/B3',
      'balance_mismatch:critical:67.10:0/',
      'missing_in_bank:high:15.00:1/',
      'missing_in_bank:high:70.00:1/',
      'missing_in_ledger:medium:25.00:0/B6',
      'missing_in_ledger:medium:40.00:0/B5',
      'unauthorized_debit:high:12.00:0/B8',
      'unauthorized_debit:high:30.00:0/B4',
    ]);
    const silentDebit = breaks.find((item) => (item.bank as string[])[0] === 'B8')!;
    expect(silentDebit).toMatchObject({ bankItems: [expect.objectContaining({ source: 'gateway', note: expect.stringContaining('missing event') })] });
    const silent = breaks.find((item) => (item.ledger as string[])[0] === `${silentUnmatchedId}:1`)!;
    expect(silent).toMatchObject({
      category: 'data_sync',
      currency: 'EUR',
      status: 'open',
      ledgerItems: [expect.objectContaining({ source: 'export', note: expect.stringContaining('missing event') })],
    });
    const mismatch = breaks.find((item) => item.type === 'amount_mismatch')!;
    expect(mismatch).toMatchObject({
      ledgerItems: [expect.objectContaining({ reference: 'PLAT-D-000003' })],
      bankItems: [expect.objectContaining({ item_ref: 'B3', end_to_end_id: 'PLAT-D-000003' })],
    });

    const stream = streamNameFor(isolation.namespace, 'RECON');
    const alert = await eventually(async () => {
      try {
        return await jsm.streams.getMessage(stream, { last_by_subj: subjectFor(isolation.namespace, 'recon.alert.raised') });
      } catch {
        return undefined;
      }
    }, 'recon.alert.raised');
    expect(alert!.json()).toMatchObject({ kind: 'shortfall', severity: 'critical', amount: '67.10', currency: 'EUR', account: ACCOUNT, businessDate: DAY });

    const filtered = await breaksOf('&category=misappropriation&limit=1');
    expect(filtered).toHaveLength(1);
    const page = (
      await as(TEST_KEYS.auditor, api.get(`/v1/breaks?account=${ACCOUNT}&limit=1&cursor=${filtered[0]!.breakId as string}&category=misappropriation`)).expect(
        200,
      )
    ).body;
    expect(page.breaks).toHaveLength(1);
    expect(page.breaks[0].breakId).not.toBe(filtered[0]!.breakId);
    expect(await breaksOf('&currency=EUR&amountMin=30.00&amountMax=67.10')).toHaveLength(3);
    expect((await as(TEST_KEYS.ops, api.get(`/v1/runs/${run.runId as string}`)).expect(200)).body.runId).toBe(run.runId);
  });

  it('re-running the same day opens nothing new', async () => {
    const before = await count(`SELECT count(*) FROM breaks`);
    const alertsBefore = await count(`SELECT count(*) FROM outbox_messages WHERE subject = 'recon.alert.raised'`);
    const run = (await as(TEST_KEYS.ops, api.post('/v1/runs').send({ custodyAccount: ACCOUNT, businessDate: DAY })).expect(201)).body;
    expect(run.counts).toMatchObject({ breaksOpened: 0, matchGroups: 0, missingEvents: 0, missingBankLineEvents: 0 });
    expect(await count(`SELECT count(*) FROM breaks`)).toBe(before);
    expect(await count(`SELECT count(*) FROM outbox_messages WHERE subject = 'recon.alert.raised'`)).toBe(alertsBefore);
    expect((await as(TEST_KEYS.ops, api.get('/v1/runs')).expect(200)).body.runs).toHaveLength(2);
  });

  it('a late partner closes its break automatically and says why', async () => {
    const [open] = await breaksOf('&type=missing_in_ledger&status=open&amountMin=25.00&amountMax=25.00&currency=EUR');
    expect(open).toMatchObject({ bank: ['B6'] });
    await events.transactionPosted(lateDeposit);
    const closed = await eventually(async () => {
      const view = (await as(TEST_KEYS.ops, api.get(`/v1/breaks/${open!.breakId as string}`)).expect(200)).body;
      return view.status === 'closed' ? view : undefined;
    }, 'late partner closing the break');
    expect(closed.resolution).toMatchObject({ code: 'late_partner', by: 'reconciliation', note: expect.stringContaining(`${lateDeposit.transactionId}:1`) });
    expect(closed.bankItems[0]).toMatchObject({ item_ref: 'B6', matched_at: expect.any(String) });
  });

  it('enforces four eyes on adjustments and posts the approved one to the ledger, retrying while it is down', async () => {
    const [target] = await breaksOf('&type=missing_in_bank&amountMin=70.00&amountMax=70.00&currency=EUR');
    const body = {
      transaction: {
        valueDate: DAY,
        reference: 'ADJ-PLAT-D-000004',
        lines: [
          { account: 'customer:c-4', side: 'debit', amount: '70.00', currency: 'EUR' },
          { account: 'custody:eur', side: 'credit', amount: '70.00', currency: 'EUR' },
        ],
      },
    };
    await as(TEST_KEYS.auditor, api.post(`/v1/breaks/${target!.breakId as string}/adjustments`).send(body)).expect(403);
    const proposed = (await as(BOTH_ROLES_KEY, api.post(`/v1/breaks/${target!.breakId as string}/adjustments`).send(body)).expect(201)).body;
    expect(proposed).toMatchObject({ status: 'proposed', proposedBy: 'alice' });
    await as(TEST_KEYS.ops, api.post(`/v1/adjustments/${proposed.adjustmentId as string}/approve`)).expect(403); // ops is not an approver
    const selfApproval = await as(BOTH_ROLES_KEY, api.post(`/v1/adjustments/${proposed.adjustmentId as string}/approve`)).expect(403);
    expect(selfApproval.body.error).toBe('ADJUSTMENT.FOUR_EYES');
    expect((await as(TEST_KEYS.ops, api.get(`/v1/adjustments/${proposed.adjustmentId as string}`)).expect(200)).body.status).toBe('proposed');

    ledger.failPosting = true;
    const approved = (await as(TEST_KEYS.approver, api.post(`/v1/adjustments/${proposed.adjustmentId as string}/approve`)).expect(200)).body;
    expect(approved).toMatchObject({ status: 'approved-pending-posting', approvedBy: 'dev-approver' });
    await eventually(
      async () => ((await as(TEST_KEYS.ops, api.get(`/v1/adjustments/${proposed.adjustmentId as string}`))).body.postAttempts >= 2 ? true : undefined),
      'failed posting attempts',
    );
    expect((await as(TEST_KEYS.ops, api.get(`/v1/adjustments/${proposed.adjustmentId as string}`))).body.status).toBe('approved-pending-posting');
    ledger.failPosting = false;
    const posted = await eventually(async () => {
      const view = (await as(TEST_KEYS.ops, api.get(`/v1/adjustments/${proposed.adjustmentId as string}`))).body;
      return view.status === 'posted' ? view : undefined;
    }, 'posting after the ledger recovered');
    expect(posted.ledgerTransactionId).toEqual(expect.any(String));
    expect(ledger.postings).toEqual([
      {
        idempotencyKey: `recon-adjustment-${proposed.adjustmentId as string}`,
        body: expect.objectContaining({ kind: 'adjustment', reference: 'ADJ-PLAT-D-000004' }),
      },
    ]);
    const resolved = (await as(TEST_KEYS.ops, api.get(`/v1/breaks/${target!.breakId as string}`)).expect(200)).body;
    expect(resolved).toMatchObject({ status: 'resolved', resolution: { code: 'adjusted_in_ledger', by: 'dev-approver' } });

    const audits = await rows<{ subject: string }>(
      `SELECT subject FROM outbox_messages WHERE subject LIKE 'audit.reconciliation.adjustment.%' ORDER BY position`,
    );
    expect(audits.map((row) => row.subject)).toEqual([
      'audit.reconciliation.adjustment.propose',
      'audit.reconciliation.adjustment.approve',
      'audit.reconciliation.adjustment.post',
    ]);
  });

  it('assigns, comments and resolves a break with a reason code', async () => {
    const [target] = await breaksOf('&type=unauthorized_debit&currency=EUR&amountMin=30.00&amountMax=30.00');
    const id = target!.breakId as string;
    await as(TEST_KEYS.ops, api.post(`/v1/breaks/${id}/assign`).send({ assignee: 'dev-ops-2' })).expect(200);
    await as(TEST_KEYS.ops2, api.post(`/v1/breaks/${id}/comments`).send({ body: 'bank confirms a fee booked without code' })).expect(201);
    await as(TEST_KEYS.ops2, api.post(`/v1/breaks/${id}/resolve`).send({ reasonCode: 'not-a-code' })).expect(400);
    const resolved = (await as(TEST_KEYS.ops2, api.post(`/v1/breaks/${id}/resolve`).send({ reasonCode: 'bank_error', note: 'refund requested' })).expect(200))
      .body;
    expect(resolved).toMatchObject({
      status: 'resolved',
      assignee: 'dev-ops-2',
      resolution: { code: 'bank_error', by: 'dev-ops-2' },
      comments: [expect.objectContaining({ author: 'dev-ops-2' })],
    });
    await as(TEST_KEYS.ops, api.post(`/v1/breaks/${id}/resolve`).send({ reasonCode: 'bank_error' })).expect(409);
  });

  it('exposes open breaks by type and age, pending items, auto-match rate and consumer lag as metrics', async () => {
    const text = (await as(TEST_KEYS.service, api.get('/metrics')).expect(200)).text;
    expect(text).toMatch(/recon_breaks_open\{[^}]*type="balance_mismatch"[^}]*\} 1/);
    expect(text).toMatch(/recon_items_pending\{[^}]*side="ledger"[^}]*\} \d+/);
    expect(text).toMatch(/recon_run_auto_match_rate\{[^}]*account="DE89370400440532013000"[^}]*\} 0\.\d+/);
    expect(text).toMatch(/recon_consumer_lag(_messages)?\{[^}]*consumer="reconciliation-bank"[^}]*\} 0/);
  });

  it('schedules the nightly run of each custody account at its cut-off in its time zone', async () => {
    const queue = new Queue(RECON_QUEUE_NAME, { connection: { url: TEST_REDIS_URL }, prefix: isolation.redisKeyPrefix.replace(/:+$/, '') });
    try {
      const schedulerOf = async () => (await queue.getJobSchedulers()).find((scheduler) => scheduler.key === `nightly:${ACCOUNT}`);
      expect(await schedulerOf()).toMatchObject({ pattern: '0 18 * * *', tz: 'UTC' });
      // Retractions that overtook their lines are applied by their own job (RECON_RETRACTION_SWEEP_INTERVAL_MS).
      expect((await queue.getJobSchedulers()).find((scheduler) => scheduler.key === 'retractions')).toMatchObject({ every: 60_000 });
      await as(TEST_KEYS.ops, api.put(`/v1/accounts/${ACCOUNT}/settings`).send({ graceDays: 1, cutOff: '17:30', timeZone: 'Europe/Berlin' })).expect(403);
      const saved = (
        await as(TEST_KEYS.admin, api.put(`/v1/accounts/${ACCOUNT}/settings`).send({ graceDays: 1, cutOff: '17:30', timeZone: 'Europe/Berlin' })).expect(200)
      ).body;
      expect(saved).toEqual({ bankAccount: ACCOUNT, graceDays: 1, cutOff: '17:30', timeZone: 'Europe/Berlin', closesPreviousDay: false });
      expect(await schedulerOf()).toMatchObject({ pattern: '30 17 * * *', tz: 'Europe/Berlin' });
      await as(TEST_KEYS.admin, api.put(`/v1/accounts/${ACCOUNT}/settings`).send({ graceDays: 1, cutOff: '17:30', timeZone: 'Mars/Olympus' })).expect(400);
    } finally {
      await queue.close();
    }
  });

  it('checks statement continuity against the previous statement, and never reopens what a person resolved', async () => {
    const nextDay = '2025-01-03';
    const resolvedBefore = await count(`SELECT count(*) FROM breaks WHERE status = 'resolved'`);
    await events.statementReceived({
      fileId: randomUUID(),
      receivedAt: new Date().toISOString(),
      format: 'camt.053',
      statementId: 'STMT-0103',
      account: ACCOUNT,
      currency: 'EUR',
      sequence: '4',
      from: nextDay,
      to: nextDay,
      openingBalance: { amount: '1330.00', date: DAY },
      closingBalance: { amount: '1330.00', date: nextDay },
      entryCount: 0,
      rejectedCount: 0,
    });
    await eventually(async () => ((await count(`SELECT count(*) FROM statements`)) === 2 ? true : undefined), 'second statement stored');
    const run = (await as(TEST_KEYS.ops, api.post('/v1/runs').send({ custodyAccount: ACCOUNT, businessDate: nextDay })).expect(201)).body;
    expect(run.counts).toMatchObject({ breaksOpened: 3, statementFindings: 2, breaksOpenedByType: { statement_gap: 2, balance_mismatch: 1 } });
    const gaps = await breaksOf('&type=statement_gap');
    expect(gaps.map((item) => [(item.explanation as { findingKind: string }).findingKind, item.amount, item.severity]).sort()).toEqual([
      ['opening_differs_from_previous_closing', '2.90', 'high'],
      ['sequence_gap', '0.00', 'high'],
    ]);
    expect(await count(`SELECT count(*) FROM breaks WHERE status = 'resolved'`)).toBe(resolvedBefore);
  });

  it("finds a statement's lines when neither its bank.statement.received nor its lines ever arrived, and reports them as breaks", async () => {
    // Another custody account (grace 0, no statements of its own): the file of this day is known only to the gateway.
    const account = 'DE02120300000000202051';
    const day = '2025-01-06';
    const lostFileId = randomUUID();
    await events.custodyAccountOpened({ accountId: 'custody-eur-2', bankAccount: account, currency: 'EUR' });
    const deposit = movement({
      custodyAccountId: 'custody-eur-2',
      kind: 'deposit',
      amount: '80.00',
      currency: 'EUR',
      valueDate: day,
      reference: 'PLAT-D-LOST-1',
    });
    await events.transactionPosted(deposit);
    const lost = (lineNo: number, amount: string, extra: Record<string, unknown>) =>
      bankLine({ account, currency: 'EUR', statementId: 'STMT-LOST', lineNo, amount, valueDate: day, bookingDate: day, fileId: lostFileId, ...extra });
    ledger.gatewayLines.push(
      lost(1, '80.00', { bankRef: 'LOST1', endToEndId: 'PLAT-D-LOST-1' }),
      lost(2, '45.00', { bankRef: 'LOST2', endToEndId: 'SOMEONE-ELSE-LOST' }),
      lost(3, '-19.99', { bankRef: 'LOST3' }),
      // Another day of the same file: not this run's.
      lost(4, '5.00', { bankRef: 'LOST4', valueDate: '2025-01-07', bookingDate: '2025-01-07' }),
    );
    await eventually(
      async () => ((await count(`SELECT count(*) FROM ledger_items WHERE entry_id = '${deposit.transactionId}:1'`)) === 1 ? true : undefined),
      'the deposit',
    );
    expect(await count(`SELECT count(*) FROM statements WHERE file_id = '${lostFileId}'`)).toBe(0);

    const run = (await as(TEST_KEYS.ops, api.post('/v1/runs').send({ custodyAccount: account, businessDate: day })).expect(201)).body;
    expect(ledger.gatewayDaysAsked).toContain(`${account}:${day}`);
    expect(run.warnings).toEqual([]);
    expect(run.counts).toMatchObject({ missingBankLineEvents: 3, matchGroups: 1, breaksOpenedByType: { missing_in_ledger: 1, unauthorized_debit: 1 } });
    const breaks = (await as(TEST_KEYS.ops, api.get(`/v1/breaks?account=${account}&limit=100`)).expect(200)).body.breaks as Record<string, unknown>[];
    expect(breaks.map((item) => `${item.type}:${item.category}:${item.amount}:${(item.bank as string[]).join(',')}`).sort()).toEqual([
      'missing_in_ledger:data_sync:45.00:LOST2',
      'unauthorized_debit:misappropriation:19.99:LOST3',
    ]);
    for (const item of breaks) {
      expect(item.bankItems).toEqual([expect.objectContaining({ source: 'gateway', file_id: lostFileId, note: expect.stringContaining('missing event') })]);
    }
    // The line whose partner was there matched it: no missing_in_bank for the deposit.
    expect(await rows(`SELECT rule, bank_ids FROM matches WHERE ledger_ids = ARRAY['${deposit.transactionId}:1']`)).toEqual([
      { rule: 'ref-exact', bank_ids: ['LOST1'] },
    ]);
    expect(await count(`SELECT count(*) FROM bank_items WHERE item_ref = 'LOST4'`)).toBe(0);
    const audited = await rows<{ payload: { entity: { id: string }; details: { missingBankLineEvents: number; fileIds: string[] } } }>(
      `SELECT payload FROM outbox_messages WHERE subject = 'audit.reconciliation.items.import-missing' AND payload->'entity'->>'id' = $1`,
      [account],
    );
    expect(audited.map((row) => row.payload.details)).toEqual([expect.objectContaining({ missingBankLineEvents: 3, fileIds: [lostFileId] })]);

    // Again: everything is known now; nothing is stored or opened twice.
    const again = (await as(TEST_KEYS.ops, api.post('/v1/runs').send({ custodyAccount: account, businessDate: day })).expect(201)).body;
    expect(again.counts).toMatchObject({ missingBankLineEvents: 0, breaksOpened: 0 });
    expect(await count(`SELECT count(*) FROM bank_items WHERE file_id = '${lostFileId}'`)).toBe(3);
  });

  it('keeps what a cut-short gateway record gave and says the check was partial', async () => {
    const account = 'DE02120300000000202051';
    const day = '2025-01-08';
    const fileId = randomUUID();
    ledger.gatewayLines.push(
      bankLine({ account, currency: 'EUR', statementId: 'STMT-CUT', lineNo: 1, amount: '1.00', bankRef: 'CUT1', valueDate: day, bookingDate: day, fileId }),
      bankLine({ account, currency: 'EUR', statementId: 'STMT-CUT', lineNo: 2, amount: '2.00', bankRef: 'CUT2', valueDate: day, bookingDate: day, fileId }),
    );
    ledger.gatewayCutShort = true;
    try {
      const run = (await as(TEST_KEYS.ops, api.post('/v1/runs').send({ custodyAccount: account, businessDate: day })).expect(201)).body;
      expect(run).toMatchObject({ status: 'completed_with_warnings', counts: expect.objectContaining({ missingBankLineEvents: 2 }) });
      expect(run.warnings).toEqual([expect.stringMatching(/^bank gateway completeness checked only for the first 2 lines: .*without the end line/)]);
    } finally {
      ledger.gatewayCutShort = false;
    }
    expect(await count(`SELECT count(*) FROM bank_items WHERE file_id = '${fileId}' AND source = 'gateway'`)).toBe(2);
  });
});
