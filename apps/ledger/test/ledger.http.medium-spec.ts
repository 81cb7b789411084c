import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { LEDGER_REQUIRED_BALANCE_RPC, OutboxRelay, rpcSubjectFor, streamNameFor } from '@recon/messaging';
import { startMetricsOnlyTelemetry } from '@recon/observability';
import { transactionRunnerOf } from '@recon/persistence';
import { isolate, TEST_ADMIN_URL, TEST_KEYS, type TestIsolation } from '@recon/testing';
import { jetstream } from '@nats-io/jetstream';
import { Client } from 'pg';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { DATA_SOURCE } from '@recon/platform';
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../cli/src/main';
import { createLedgerApp, migrateLedger } from '../src/ledger.app';
import { loadLedgerConfig } from '../src/ledger.config';

const telemetry = startMetricsOnlyTelemetry();

describe('ledger over HTTP', () => {
  let isolation: TestIsolation;
  let app: NestExpressApplication;
  let http: ReturnType<typeof request>;
  let admin: Client;
  let nats: NatsConnection;
  let jsm: JetStreamManager;
  let config: ReturnType<typeof loadLedgerConfig>;
  let baseUrl: string;

  const asService = (test: request.Test) => test.set('X-Api-Key', TEST_KEYS.service);
  const post = (key: string, body: unknown) =>
    asService(
      http
        .post('/v1/transactions')
        .set('Idempotency-Key', key)
        .send(body as object),
    );
  const count = async (table: string) => Number((await admin.query(`SELECT count(*) FROM ${isolation.schema}.${table}`)).rows[0].count);
  const deposit = (customer: string, amount: string, reference: string, valueDate = '2025-01-02') => ({
    kind: 'deposit',
    valueDate,
    reference,
    lines: [
      { account: 'custody:eur', side: 'debit', amount, currency: 'EUR' },
      { account: customer, side: 'credit', amount, currency: 'EUR' },
    ],
  });
  const withdrawal = (customer: string, amount: string, reference: string, valueDate = '2025-01-02') => ({
    kind: 'withdrawal',
    valueDate,
    reference,
    lines: [
      { account: customer, side: 'debit', amount, currency: 'EUR' },
      { account: 'custody:eur', side: 'credit', amount, currency: 'EUR' },
    ],
  });
  const balanceOf = async (code: string, query = '') =>
    (await asService(http.get(`/v1/accounts/${encodeURIComponent(code)}/balance${query}`)).expect(200)).body.balance as string;

  beforeAll(async () => {
    isolation = isolate('ledger');
    config = loadLedgerConfig(isolation.env({ HTTP_BODY_BYTES_MAX: '65536' }));
    await migrateLedger(config);
    app = await createLedgerApp(config, telemetry);
    await app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    http = request(app.getHttpServer());
    admin = new Client({ connectionString: TEST_ADMIN_URL });
    await admin.connect();
    nats = await connect({ servers: config.NATS_SERVERS });
    jsm = await jetstreamManager(nats);
    const open = (body: object) => asService(http.post('/v1/accounts').send(body)).expect(201);
    await open({ code: 'custody:eur', kind: 'custody', currency: 'EUR', name: 'FBO EUR', bankId: 'COBADEFFXXX', bankAccount: 'DE89370400440532013000' });
    await open({ code: 'custody:jpy', kind: 'custody', currency: 'JPY', name: 'FBO JPY', bankId: 'MHCBJPJTXXX', bankAccount: '0001234567' });
    for (const customer of ['alice', 'bob', 'carol', 'dave']) {
      await open({ code: `customer:${customer}`, kind: 'customer', currency: 'EUR', name: customer, custodyAccount: 'custody:eur', customerId: customer });
    }
    await open({ code: 'own:eur', kind: 'own_funds', currency: 'EUR', name: 'platform own funds', custodyAccount: 'custody:eur' });
  });

  afterAll(async () => {
    await app?.close();
    await nats?.close();
    await admin?.end();
    await isolation?.cleanup();
    await telemetry.shutdown();
  });

  describe('authentication and roles', () => {
    it('answers probes without credentials', async () => {
      await http.get('/health/live').expect(200, { status: 'ok' });
      const ready = await http.get('/health/ready').expect(200);
      expect(ready.body.checks).toEqual({ postgres: 'up', nats: 'up' });
    });

    it('refuses a missing or unknown credential with 401 and a wrong role with 403', async () => {
      await http.get('/v1/accounts').expect(401);
      await http.get('/v1/accounts').set('X-Api-Key', 'not-a-real-key-at-all').expect(401);
      await http
        .post('/v1/transactions')
        .set('X-Api-Key', TEST_KEYS.auditor)
        .set('Idempotency-Key', 'k')
        .send(deposit('customer:alice', '1.00', 'R'))
        .expect(403);
      await http.get('/v1/accounts').set('Authorization', `Bearer ${TEST_KEYS.auditor}`).expect(200);
    });

    it('serves its OpenAPI document', async () => {
      const response = await http.get('/docs/openapi.json').expect(200);
      expect(Object.keys(response.body.paths)).toEqual(expect.arrayContaining(['/v1/transactions', '/v1/transactions/batch', '/v1/exports/ledger.csv']));
    });
  });

  describe('posting', () => {
    it('posts a balanced transaction once per idempotency key', async () => {
      const first = await post('dep-1', deposit('customer:alice', '100.00', 'PLAT-D-1')).expect(201);
      expect(first.body).toMatchObject({ kind: 'deposit', reference: 'PLAT-D-1', valueDate: '2025-01-02', postedBy: 'dev-service' });
      expect(first.body.lines).toEqual([
        expect.objectContaining({ lineNo: 1, account: 'custody:eur', side: 'debit', amount: '100.00', currency: 'EUR' }),
        expect.objectContaining({ lineNo: 2, account: 'customer:alice', side: 'credit', amount: '100.00', currency: 'EUR' }),
      ]);
      const replay = await post('dep-1', deposit('customer:alice', '100.00', 'PLAT-D-1')).expect(200);
      expect(replay.body).toEqual(first.body);
      const before = await count('transactions');
      const conflict = await post('dep-1', deposit('customer:alice', '100.01', 'PLAT-D-1')).expect(422);
      expect(conflict.body.error).toBe('JOURNAL.IDEMPOTENCY_KEY_REUSED');
      expect(await count('transactions')).toBe(before);
      expect(await balanceOf('customer:alice')).toBe('100.00');
      expect(await balanceOf('custody:eur')).toBe('100.00');
    });

    it.each([
      [
        'unbalanced',
        {
          ...deposit('customer:bob', '1.00', 'X'),
          lines: [
            { account: 'custody:eur', side: 'debit', amount: '1.00', currency: 'EUR' },
            { account: 'customer:bob', side: 'credit', amount: '0.99', currency: 'EUR' },
          ],
        },
        422,
        'differ by 0.01',
      ],
      [
        'wrong currency',
        {
          ...deposit('customer:bob', '1.00', 'X'),
          lines: [
            { account: 'custody:jpy', side: 'debit', amount: '1.00', currency: 'EUR' },
            { account: 'customer:bob', side: 'credit', amount: '1.00', currency: 'EUR' },
          ],
        },
        422,
        'holds JPY',
      ],
      ['malformed amount', deposit('customer:bob', '12,30', 'X'), 422, "'12,30' is not a decimal number"],
      ['too many decimals', deposit('customer:bob', '1.001', 'X'), 422, 'more than 2 decimal places'],
      [
        'amount as a JSON number',
        {
          ...deposit('customer:bob', '1.00', 'X'),
          lines: [
            { account: 'custody:eur', side: 'debit', amount: 1, currency: 'EUR' },
            { account: 'customer:bob', side: 'credit', amount: 1, currency: 'EUR' },
          ],
        },
        400,
        'lines.0.amount',
      ],
      ['unknown account', deposit('customer:nobody', '1.00', 'X'), 422, "no account 'customer:nobody'"],
      ['zero amount', deposit('customer:bob', '0.00', 'X'), 422, 'greater than zero'],
      ['impossible date', deposit('customer:bob', '1.00', 'X', '2025-02-30'), 400, 'not a calendar date'],
      ['unknown field', { ...deposit('customer:bob', '1.00', 'X'), extra: true }, 400, 'extra'],
      ['overdraft', withdrawal('customer:bob', '5.00', 'X'), 422, "'customer:bob' would go below zero"],
    ])('refuses %s with a clear error and writes nothing', async (_name, body, status, message) => {
      const before = await count('transactions');
      const response = await post(`bad-${_name.replaceAll(' ', '-')}`, body).expect(status);
      expect(JSON.stringify(response.body)).toContain(message);
      expect(await count('transactions')).toBe(before);
      expect(await count('postings')).toBe(before * 2);
    });

    it('refuses a missing idempotency key, invalid JSON and an oversized body', async () => {
      await asService(http.post('/v1/transactions').send(deposit('customer:bob', '1.00', 'X'))).expect(400);
      await asService(http.post('/v1/transactions').set('Idempotency-Key', 'json').set('Content-Type', 'application/json').send('{"kind":')).expect(400);
      const huge = { ...deposit('customer:bob', '1.00', 'X'), description: 'x'.repeat(70_000) };
      const response = await post('huge', huge).expect(413);
      expect(response.body.message).toContain('65536');
    });

    it('keeps balances exact under 50 concurrent postings and never overdraws', async () => {
      const responses = await Promise.all(Array.from({ length: 50 }, (_, index) => post(`conc-${index}`, deposit('customer:carol', '1.01', `C-${index}`))));
      expect(responses.map((response) => response.status)).toEqual(Array(50).fill(201));
      expect(await balanceOf('customer:carol')).toBe('50.50');
      // 50.50 covers exactly ten withdrawals of 5.05: the other ten must fail, whatever the interleaving.
      const withdrawals = await Promise.all(Array.from({ length: 20 }, (_, index) => post(`wd-${index}`, withdrawal('customer:carol', '5.05', `W-${index}`))));
      expect(withdrawals.filter((response) => response.status === 201)).toHaveLength(10);
      expect(withdrawals.filter((response) => response.status === 422)).toHaveLength(10);
      expect(await balanceOf('customer:carol')).toBe('0.00');
      const sums = await admin.query(
        `SELECT sum(CASE side WHEN 'debit' THEN amount_minor ELSE 0 END)::text AS debits, sum(CASE side WHEN 'credit' THEN amount_minor ELSE 0 END)::text AS credits FROM ${isolation.schema}.postings`,
      );
      expect(sums.rows[0].debits).toBe(sums.rows[0].credits);
    });

    it('posts a batch atomically and replays it', async () => {
      const transactions = Array.from({ length: 200 }, (_, index) => ({
        idempotencyKey: `batch-${index}`,
        ...deposit('customer:dave', '0.10', `B-${index}`),
        batchReference: 'BATCH-1',
      }));
      const first = await asService(http.post('/v1/transactions/batch').send({ transactions })).expect(200);
      expect(first.body).toMatchObject({ created: 200, replayed: 0 });
      const again = await asService(http.post('/v1/transactions/batch').send({ transactions })).expect(200);
      expect(again.body).toMatchObject({ created: 0, replayed: 200 });
      expect(await balanceOf('customer:dave')).toBe('20.00');
      const before = await count('transactions');
      const broken = [
        ...transactions.slice(0, 5).map((item, index) => ({ ...item, idempotencyKey: `batch2-${index}` })),
        { idempotencyKey: 'batch2-bad', ...deposit('customer:dave', '1', 'B'), lines: [] },
      ];
      const refused = await asService(http.post('/v1/transactions/batch').send({ transactions: broken })).expect(400);
      expect(refused.body.message).toContain('transactions.5.lines');
      expect(await count('transactions')).toBe(before);
    });
  });

  describe('corrections and balances', () => {
    it('reverses a transaction exactly once and never reverses a reversal', async () => {
      const original = await post('rev-src', deposit('customer:bob', '7.00', 'PLAT-D-7', '2025-01-03')).expect(201);
      expect(await balanceOf('customer:bob')).toBe('7.00');
      const reversal = await asService(http.post(`/v1/transactions/${original.body.transactionId}/reversal`).set('Idempotency-Key', 'rev-1').send({})).expect(
        201,
      );
      expect(reversal.body).toMatchObject({ kind: 'reversal', reversesTransactionId: original.body.transactionId, valueDate: '2025-01-03' });
      expect(reversal.body.lines.map((line: { side: string }) => line.side)).toEqual(['credit', 'debit']);
      expect(await balanceOf('customer:bob')).toBe('0.00');
      await asService(http.post(`/v1/transactions/${original.body.transactionId}/reversal`).set('Idempotency-Key', 'rev-1').send({})).expect(200);
      await asService(http.post(`/v1/transactions/${original.body.transactionId}/reversal`).set('Idempotency-Key', 'rev-2').send({})).expect(409);
      await asService(http.post(`/v1/transactions/${reversal.body.transactionId}/reversal`).set('Idempotency-Key', 'rev-3').send({})).expect(422);
      await asService(http.post('/v1/transactions/00000000-0000-7000-8000-000000000000/reversal').set('Idempotency-Key', 'rev-4').send({})).expect(404);
    });

    it('keeps ledger rows append-only even for the service role', async () => {
      const client = new Client({ connectionString: isolation.databaseUrl });
      await client.connect();
      try {
        await expect(client.query(`UPDATE ${isolation.schema}.postings SET amount_minor = 1`)).rejects.toThrow(/permission denied|append-only/);
        await expect(client.query(`DELETE FROM ${isolation.schema}.transactions`)).rejects.toThrow(/permission denied|append-only/);
      } finally {
        await client.end();
      }
      await expect(admin.query(`UPDATE ${isolation.schema}.postings SET amount_minor = 1`)).rejects.toThrow(/append-only/);
      await expect(admin.query(`TRUNCATE ${isolation.schema}.postings CASCADE`)).rejects.toThrow(/append-only/);
    });

    it('refuses, even as the service role, a posting without its transaction or account and a reversal of nothing', async () => {
      const client = new Client({ connectionString: isolation.databaseUrl });
      await client.connect();
      try {
        await client.query(`SET search_path TO ${isolation.schema}`);
        const [account] = (await client.query(`SELECT account_id FROM accounts WHERE code = 'customer:alice'`)).rows;
        const [transaction] = (await client.query(`SELECT transaction_id FROM transactions LIMIT 1`)).rows;
        const posting = (transactionId: string, accountId: string) =>
          client.query(
            `INSERT INTO postings (transaction_id, line_no, account_id, side, amount_minor, currency, value_date, posted_at)
             VALUES ($1, 99, $2, 'debit', 1, 'EUR', '2025-01-02', now())`,
            [transactionId, accountId],
          );
        await expect(posting('00000000-0000-7000-8000-00000000dead', account.account_id)).rejects.toThrow(
          /posting refers to transaction 00000000-0000-7000-8000-00000000dead which does not exist/,
        );
        await expect(posting(transaction.transaction_id, '00000000-0000-7000-8000-00000000beef')).rejects.toThrow(
          /posting refers to account 00000000-0000-7000-8000-00000000beef which does not exist/,
        );
        await expect(
          client.query(
            `INSERT INTO transactions (transaction_id, idempotency_key, request_sha256, kind, reference, value_date, posted_at, posted_by, reverses_transaction_id)
             VALUES ('00000000-0000-7000-8000-0000000000aa', 'direct-rev', repeat('a', 64), 'reversal', '', '2025-01-02', now(), 'test', '00000000-0000-7000-8000-00000000dead')`,
          ),
        ).rejects.toThrow(/reverses transaction 00000000-0000-7000-8000-00000000dead which does not exist/);
      } finally {
        await client.end();
      }
    });

    it('answers balances as of a value date and the custody required balance', async () => {
      await post('asof-1', deposit('customer:alice', '10.00', 'A-1', '2025-02-01')).expect(201);
      await post('asof-2', deposit('customer:alice', '5.00', 'A-2', '2025-02-05')).expect(201);
      await post('asof-fee', {
        kind: 'fee',
        valueDate: '2025-02-05',
        reference: 'FEE-1',
        lines: [
          { account: 'customer:alice', side: 'debit', amount: '1.00', currency: 'EUR' },
          { account: 'own:eur', side: 'credit', amount: '1.00', currency: 'EUR' },
        ],
      }).expect(201);
      expect(await balanceOf('customer:alice', '?asOfDate=2025-01-31')).toBe('100.00');
      expect(await balanceOf('customer:alice', '?asOfDate=2025-02-01')).toBe('110.00');
      expect(await balanceOf('customer:alice', '?asOfDate=2025-02-05')).toBe('114.00');
      expect(await balanceOf('customer:alice', '?asOfTime=2000-01-01T00:00:00Z')).toBe('0.00');
      await asService(http.get('/v1/accounts/customer:alice/balance?asOfDate=2025-13-01')).expect(400);
      const required = await asService(http.get('/v1/accounts/custody:eur/required-balance?asOfDate=2025-02-05')).expect(200);
      expect(required.body.requiredBalance).toBe(required.body.ledgerBalance);
      expect(required.body.requiredBalance).toBe(await balanceOf('custody:eur', '?asOfDate=2025-02-05'));
    });
  });

  describe('request/reply', () => {
    it('answers the required balance over NATS for the reconciliation service', async () => {
      const subject = rpcSubjectFor(isolation.namespace, LEDGER_REQUIRED_BALANCE_RPC);
      const reply = (await nats.request(subject, JSON.stringify({ asOfDate: '2025-02-05', bankAccount: 'DE89370400440532013000' }), { timeout: 5_000 })).json<{
        ok: boolean;
        balances: { requiredBalance: string; currency: string }[];
      }>();
      expect(reply.ok).toBe(true);
      expect(reply.balances).toHaveLength(1);
      expect(reply.balances[0]).toMatchObject({ currency: 'EUR', requiredBalance: await balanceOf('custody:eur', '?asOfDate=2025-02-05') });
      const refused = (await nats.request(subject, JSON.stringify({ asOfDate: 'yesterday' }), { timeout: 5_000 })).json<{
        ok: boolean;
        error: { message: string };
      }>();
      expect(refused).toEqual({ ok: false, error: { code: 'LEDGER.INVALID_REQUEST', message: expect.stringContaining('asOfDate') } });
      const garbage = (await nats.request(subject, 'not json', { timeout: 5_000 })).json<{ ok: boolean; error: { code: string } }>();
      expect(garbage.error.code).toBe('RPC.INVALID_JSON');
    });
  });

  describe('exports', () => {
    it('exports custody entries in the CONTRACT ledger CSV, signed from the custody account', async () => {
      const response = await asService(http.get('/v1/exports/ledger.csv?from=2025-02-01&to=2025-02-05&account=DE89370400440532013000')).expect(200);
      expect(response.headers['content-type']).toContain('text/csv');
      const [header, ...rows] = response.text.trim().split('\n');
      expect(header).toBe('entry_id,account,amount,currency,value_date,reference,sub_account,booking_date,description,kind,batch_reference');
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatch(/^[0-9a-f-]{36}:1,DE89370400440532013000,10\.00,EUR,2025-02-01,A-1,customer:alice,\d{4}-\d{2}-\d{2},,deposit,$/);
      const withdrawals = await asService(http.get('/v1/exports/ledger.csv?from=2025-01-02&to=2025-01-02')).expect(200);
      expect(withdrawals.text).toContain(',-5.05,EUR,2025-01-02,W-');
      await asService(http.get('/v1/exports/ledger.csv?from=2025-02-01')).expect(400);
      await http.get('/v1/exports/ledger.csv?from=2025-02-01&to=2025-02-05').set('X-Api-Key', TEST_KEYS.integrator).expect(403);
    });

    it('is pulled by `recon ledger export` and `recon ledger balances`', async () => {
      const out = path.join(os.tmpdir(), `ledger-${isolation.suffix}.csv`);
      const args = ['--url', baseUrl, '--api-key', TEST_KEYS.ops, '--out', out];
      try {
        expect(await runCli(['ledger', 'export', '--from', '2025-02-01', '--to', '2025-02-05', ...args])).toBe(0);
        const direct = await asService(http.get('/v1/exports/ledger.csv?from=2025-02-01&to=2025-02-05')).expect(200);
        expect(fs.readFileSync(out, 'utf8')).toBe(direct.text);
        expect(await runCli(['ledger', 'balances', '--as-of', '2025-02-05', ...args])).toBe(0);
        expect(fs.readFileSync(out, 'utf8')).toMatch(/^account,currency,as_of,balance\n/);
        expect(
          await runCli(['ledger', 'export', '--from', '2025-02-01', '--to', '2025-02-05', '--url', baseUrl, '--api-key', 'wrong-key-wrong-key', '--out', out]),
        ).toBe(2);
        expect(await runCli(['ledger', 'export', '--from', '2025-02-31x', '--to', '2025-02-05', ...args])).toBe(2);
      } finally {
        fs.rmSync(out, { force: true });
      }
    });

    it('exports required balances in the CONTRACT balances CSV', async () => {
      const response = await http.get('/v1/exports/balances.csv?asOf=2025-02-05').set('X-Api-Key', TEST_KEYS.auditor).expect(200);
      const lines = response.text.trim().split('\n');
      expect(lines[0]).toBe('account,currency,as_of,balance');
      expect(lines).toContain(`DE89370400440532013000,EUR,2025-02-05,${await balanceOf('custody:eur', '?asOfDate=2025-02-05')}`);
      expect(lines).toContain('0001234567,JPY,2025-02-05,0');
    });
  });

  describe('events', () => {
    it('publishes every posting and its audit event to JetStream exactly once', async () => {
      const transactions = await count('transactions');
      const ledgerStream = streamNameFor(isolation.namespace, 'LEDGER');
      await waitFor(async () => (await jsm.streams.info(ledgerStream)).state.messages >= transactions + 7);
      const info = await jsm.streams.info(ledgerStream);
      // Every transaction plus the seven opened accounts; JetStream de-duplicated nothing because nothing was sent twice.
      expect(info.state.messages).toBe(transactions + 7);
      const auditInfo = await jsm.streams.info(streamNameFor(isolation.namespace, 'AUDIT'));
      expect(auditInfo.state.messages).toBeGreaterThan(10);
      // The audit stream is a work queue kept for the audit service: read without consuming.
      const first = await jsm.streams.getMessage(streamNameFor(isolation.namespace, 'AUDIT'), { seq: 1 });
      expect(first?.subject).toBe(`${isolation.namespace}.audit.ledger.account.open`);
      expect(first?.json()).toMatchObject({ actor: { id: 'dev-service', role: 'service' }, action: 'ledger.account.open', entity: { type: 'account' } });
    });

    it('publishes after a crash between commit and publish, once', async () => {
      const dataSource = app.get<DataSource>(DATA_SOURCE);
      const pending = async () =>
        Number((await admin.query(`SELECT count(*) FROM ${isolation.schema}.outbox_messages WHERE published_at IS NULL`)).rows[0].count);
      await waitFor(async () => (await pending()) === 0);
      const ledgerStream = streamNameFor(isolation.namespace, 'LEDGER');
      const before = (await jsm.streams.info(ledgerStream)).state.messages;
      // Commit rows straight into the outbox as the posting would, with no relay running for them yet
      // (the app's relay runs: stop it by closing the app after the commit, as a crash would).
      await app.close();
      const crashed = await createLedgerApp(config, telemetry, { runOutboxRelay: false });
      await crashed.init();
      const key = 'after-crash';
      await request(crashed.getHttpServer())
        .post('/v1/transactions')
        .set('X-Api-Key', TEST_KEYS.service)
        .set('Idempotency-Key', key)
        .send(deposit('customer:alice', '1.00', 'CRASH'))
        .expect(201);
      expect(await pending()).toBeGreaterThanOrEqual(2);
      await crashed.close();
      // A relay that publishes but dies before marking: simulate by publishing the same batch twice.
      const nc = await connect({ servers: config.NATS_SERVERS });
      const relayDataSource = await dataSourceFor(dataSource, config);
      const relay = new OutboxRelay({ transactions: transactionRunnerOf(relayDataSource), jetstream: jetstream(nc), namespace: isolation.namespace });
      await relay.relayOnce();
      await relay.relayOnce();
      await nc.close();
      await relayDataSource.destroy();
      expect(await pending()).toBe(0);
      expect((await jsm.streams.info(ledgerStream)).state.messages).toBe(before + 1);
      app = await createLedgerApp(config, telemetry);
      await app.init();
      http = request(app.getHttpServer());
    });
  });
});

async function dataSourceFor(_closed: DataSource, config: ReturnType<typeof loadLedgerConfig>): Promise<DataSource> {
  const { createDataSource } = await import('@recon/persistence');
  return createDataSource({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolSizeMax: 2, applicationName: 'test-relay' }).initialize();
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
