import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { startMetricsOnlyTelemetry } from '@recon/observability';
import { isolate, TEST_ADMIN_URL, TEST_KEYS, type TestIsolation } from '@recon/testing';
import { Client } from 'pg';
import request from 'supertest';
import { createBankGatewayApp, migrateBankGateway } from '../../apps/bank-gateway/src/bank-gateway.app';
import { loadBankGatewayConfig, loadGatewaySettings } from '../../apps/bank-gateway/src/bank-gateway.config';
import { createLedgerApp, migrateLedger } from '../../apps/ledger/src/ledger.app';
import { loadLedgerConfig } from '../../apps/ledger/src/ledger.config';
import { createReconciliationApp, migrateReconciliation } from '../../apps/reconciliation/src/reconciliation.app';
import { loadReconciliationConfig, loadReconciliationSettings } from '../../apps/reconciliation/src/reconciliation.config';

const IBAN = 'DE89370400440532013000';
const DAY = '2025-03-03';
const WAIT_MS_MAX = 30_000;

/**
 * One custody day across the three services, in process, over the real Postgres, NATS and Redis: postings in the
 * ledger and the bank's camt.053 in the gateway reach reconciliation as events; the day's run asks the real ledger
 * for its export and its required balance (NATS request/reply) and the real gateway for its lines. The bank paid
 * out 500.00 that no ledger instruction explains, so it holds 100.00 less than customers are owed: an
 * unauthorised debit and a critical shortfall, with an alert.
 */
describe('a custody day end to end: ledger, bank gateway and reconciliation', () => {
  const telemetry = startMetricsOnlyTelemetry();
  const isolations: TestIsolation[] = [];
  const apps: NestExpressApplication[] = [];
  let reconIsolation: TestIsolation;
  let ledger: ReturnType<typeof request>;
  let gateway: ReturnType<typeof request>;
  let recon: ReturnType<typeof request>;
  let admin: Client;

  const count = async (sql: string) => Number((await admin.query(sql.replaceAll('{recon}', reconIsolation.schema))).rows[0].count);
  const waitFor = async (what: string, condition: () => Promise<boolean>) => {
    const started = Date.now();
    while (!(await condition())) {
      if (Date.now() - started > WAIT_MS_MAX) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const listening = async (app: NestExpressApplication) => {
    await app.listen(0, '127.0.0.1');
    return `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    reconIsolation = isolate('reconciliation');
    const ledgerIsolation = isolate('ledger');
    const gatewayIsolation = isolate('bank-gateway');
    isolations.push(reconIsolation, ledgerIsolation, gatewayIsolation);
    // One deployment: one set of streams, so every service uses the reconciliation suite's NATS namespace.
    const namespace = { NATS_NAMESPACE: reconIsolation.namespace };
    const ledgerConfig = loadLedgerConfig(ledgerIsolation.env(namespace));
    const gatewayConfig = loadBankGatewayConfig(gatewayIsolation.env(namespace));
    const reconConfig = loadReconciliationConfig(reconIsolation.env());
    await Promise.all([migrateLedger(ledgerConfig), migrateBankGateway(gatewayConfig), migrateReconciliation(reconConfig)]);

    const ledgerApp = await createLedgerApp(ledgerConfig, telemetry);
    apps.push(ledgerApp);
    const ledgerUrl = await listening(ledgerApp);
    const gatewayApp = await createBankGatewayApp(gatewayConfig, telemetry, { settings: loadGatewaySettings({ GATEWAY_PULL_ENABLED: 'false' }) });
    apps.push(gatewayApp);
    const gatewayUrl = await listening(gatewayApp);
    const reconApp = await createReconciliationApp(reconConfig, telemetry, {
      settings: loadReconciliationSettings({
        RECON_LEDGER_URL: ledgerUrl,
        RECON_GATEWAY_URL: gatewayUrl,
        RECON_SCHEDULER_ENABLED: 'false',
        // No grace window: the day's unmatched items become breaks in the day's own run.
        RECON_GRACE_DAYS_DEFAULT: '0',
        RECON_PENDING_SWEEP_INTERVAL_MS: '3600000',
      }),
    });
    apps.push(reconApp);
    await reconApp.init();
    ledger = request(ledgerApp.getHttpServer());
    gateway = request(gatewayApp.getHttpServer());
    recon = request(reconApp.getHttpServer());
    admin = new Client({ connectionString: TEST_ADMIN_URL });
    await admin.connect();
  });

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close().catch(() => undefined);
    await admin?.end();
    for (const isolation of isolations) await isolation.cleanup();
    await telemetry.shutdown();
  });

  it('matches what agrees, and reports the unexplained debit and the shortfall with an alert', async () => {
    const asService = (test: request.Test) => test.set('X-Api-Key', TEST_KEYS.service);
    await asService(
      ledger.post('/v1/accounts').send({ code: 'custody:eur', kind: 'custody', currency: 'EUR', name: 'FBO EUR', bankId: 'COBADEFFXXX', bankAccount: IBAN }),
    ).expect(201);
    for (const customer of ['alice', 'bob']) {
      await asService(
        ledger.post('/v1/accounts').send({ code: `customer:${customer}`, kind: 'customer', currency: 'EUR', name: customer, custodyAccount: 'custody:eur' }),
      ).expect(201);
    }
    const movement = (kind: 'deposit' | 'withdrawal', customer: string, amount: string, reference: string) => ({
      kind,
      valueDate: DAY,
      reference,
      lines:
        kind === 'deposit'
          ? [
              { account: 'custody:eur', side: 'debit', amount, currency: 'EUR' },
              { account: `customer:${customer}`, side: 'credit', amount, currency: 'EUR' },
            ]
          : [
              { account: `customer:${customer}`, side: 'debit', amount, currency: 'EUR' },
              { account: 'custody:eur', side: 'credit', amount, currency: 'EUR' },
            ],
    });
    await asService(
      ledger.post('/v1/transactions/batch').send({
        transactions: [
          { idempotencyKey: 'day-d-1', ...movement('deposit', 'alice', '100.00', 'PLAT-D-1') },
          { idempotencyKey: 'day-d-2', ...movement('deposit', 'bob', '50.00', 'PLAT-D-2') },
          { idempotencyKey: 'day-w-1', ...movement('withdrawal', 'alice', '30.00', 'PLAT-W-1') },
        ],
      }),
    ).expect(200);

    // The bank opened the day with 400.00 of its own record and paid 500.00 out without any instruction.
    const statement = camt053([
      ['100.00', 'CRDT', 'PLAT-D-1'],
      ['50.00', 'CRDT', 'PLAT-D-2'],
      ['30.00', 'DBIT', 'PLAT-W-1'],
      ['500.00', 'DBIT', 'NOTOURS-9931'],
    ]);
    const upload = await gateway
      .post('/v1/statements')
      .set('X-Api-Key', TEST_KEYS.integrator)
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.from(statement))
      .expect(201);
    expect(upload.body.parse).toMatchObject({ format: 'camt.053', accepted: 4, rejected: 0 });

    await waitFor('reconciliation to receive the three ledger entries and four bank lines', async () => {
      const ledgerItems = await count(`SELECT count(*) FROM {recon}.ledger_items`);
      const bankItems = await count(`SELECT count(*) FROM {recon}.bank_items`);
      return ledgerItems === 3 && bankItems === 4;
    });
    // Continuous matching already paired the three that agree.
    await waitFor('continuous matching', async () => (await count(`SELECT count(*) FROM {recon}.matches`)) >= 3);

    const run = (await recon.post('/v1/runs').set('X-Api-Key', TEST_KEYS.ops).send({ custodyAccount: IBAN, businessDate: DAY }).expect(201)).body;
    // Every check was done against the real services: the ledger's export and required balance, the gateway's lines.
    expect(run).toMatchObject({ status: 'completed', warnings: [] });
    expect(run.counts).toMatchObject({ missingEvents: 0, missingBankLineEvents: 0 });

    const breaks = (await recon.get(`/v1/breaks?account=${IBAN}&limit=100`).set('X-Api-Key', TEST_KEYS.ops).expect(200)).body.breaks as Array<
      Record<string, unknown>
    >;
    const byType = new Map(breaks.map((item) => [item.type, item]));
    expect([...byType.keys()].sort()).toEqual(['balance_mismatch', 'unauthorized_debit']);
    expect(byType.get('unauthorized_debit')).toMatchObject({ category: 'misappropriation', amount: '500.00', currency: 'EUR', ledger: [] });
    // Required by the ledger: 100 + 50 - 30 = 120.00; held by the bank: 400 + 120 - 500 = 20.00.
    expect(byType.get('balance_mismatch')).toMatchObject({ severity: 'critical', amount: '100.00', currency: 'EUR' });
    expect(String(byType.get('balance_mismatch')?.reason)).toMatch(/120\.00|20\.00/);
    expect(await count(`SELECT count(*) FROM {recon}.outbox_messages WHERE subject = 'recon.alert.raised' AND payload->>'kind' = 'shortfall'`)).toBe(1);

    // Re-running the day is idempotent: nothing new opened, no second alert.
    const again = (await recon.post('/v1/runs').set('X-Api-Key', TEST_KEYS.ops).send({ custodyAccount: IBAN, businessDate: DAY }).expect(201)).body;
    expect(again.counts).toMatchObject({ breaksOpened: 0 });
    expect(await count(`SELECT count(*) FROM {recon}.outbox_messages WHERE subject = 'recon.alert.raised' AND payload->>'kind' = 'shortfall'`)).toBe(1);
  });
});

function camt053(entries: ReadonlyArray<readonly [amount: string, side: 'CRDT' | 'DBIT', reference: string]>): string {
  const ntry = entries
    .map(
      ([amount, side, reference], index) => `
      <Ntry>
        <Amt Ccy="EUR">${amount}</Amt><CdtDbtInd>${side}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>${DAY}</Dt></BookgDt><ValDt><Dt>${DAY}</Dt></ValDt><AcctSvcrRef>E2E-BANKREF-${index + 1}</AcctSvcrRef>
        <NtryDtls><TxDtls><Refs><EndToEndId>${reference}</EndToEndId></Refs></TxDtls></NtryDtls>
      </Ntry>`,
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>E2E-MSG-1</MsgId><CreDtTm>${DAY}T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>E2E-STMT-001</Id>
      <ElctrncSeqNb>1</ElctrncSeqNb>
      <Acct><Id><IBAN>${IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">400.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-03-02</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">20.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>${DAY}</Dt></Dt></Bal>${ntry}
    </Stmt>
  </BkToCstmrStmt>
</Document>
`;
}
