import type { NestExpressApplication } from '@nestjs/platform-express';
import { parseVerifierKeyFile, verifyExport } from '@recon/audit-log';
import { startMetricsOnlyTelemetry } from '@recon/observability';
import { isolate, TEST_KEYS, type TestIsolation } from '@recon/testing';
import request from 'supertest';
import { createLedgerApp, migrateLedger } from '../../apps/ledger/src/ledger.app';
import { loadLedgerConfig } from '../../apps/ledger/src/ledger.config';
import { createAuditApp, migrateAudit } from '../../apps/audit/src/audit.app';
import { DEVELOPMENT_SIGNING_KEY, loadAuditConfig, loadAuditSettings } from '../../apps/audit/src/audit.config';
import { eventually } from '../../apps/audit/test/audit-test-env';

/**
 * Across services, in process: the ledger's audit events travel outbox → relay → AUDIT stream → the audit service's
 * log, mapped without rejection, and the export verifies. (In test/e2e because services never import each other.)
 */
describe('audit service: the ledger audit trail end to end', () => {
  const telemetry = startMetricsOnlyTelemetry();
  let auditIsolation: TestIsolation;
  let ledgerIsolation: TestIsolation;
  let audit: NestExpressApplication;
  let ledger: NestExpressApplication;

  beforeAll(async () => {
    auditIsolation = isolate('audit');
    ledgerIsolation = isolate('ledger');
    const auditConfig = loadAuditConfig(auditIsolation.env());
    // One NATS namespace for both, as one deployment shares one set of streams.
    const ledgerConfig = loadLedgerConfig(ledgerIsolation.env({ NATS_NAMESPACE: auditIsolation.namespace }));
    await migrateAudit(auditConfig);
    await migrateLedger(ledgerConfig);
    audit = await createAuditApp(auditConfig, telemetry, {
      settings: loadAuditSettings({ NODE_ENV: 'test', AUDIT_CHECKPOINT_EVERY_EVENTS: '3' }),
      runOutboxRelay: false,
    });
    await audit.init();
    ledger = await createLedgerApp(ledgerConfig, telemetry);
    await ledger.init();
  });

  afterAll(async () => {
    await ledger?.close();
    await audit?.close();
    await ledgerIsolation?.cleanup();
    await auditIsolation?.cleanup();
    await telemetry.shutdown();
  });

  it("appends the ledger's account, posting, reversal and export events, who/what/when/from where, and they verify", async () => {
    const http = request(ledger.getHttpServer());
    const asService = (test: request.Test) => test.set('X-Api-Key', TEST_KEYS.service);
    await asService(
      http
        .post('/v1/accounts')
        .send({ code: 'custody:eur', kind: 'custody', currency: 'EUR', name: 'FBO EUR', bankId: 'COBADEFFXXX', bankAccount: 'DE89370400440532013000' }),
    ).expect(201);
    await asService(
      http
        .post('/v1/accounts')
        .send({ code: 'customer:alice', kind: 'customer', currency: 'EUR', name: 'alice', custodyAccount: 'custody:eur', customerId: 'alice' }),
    ).expect(201);
    const posted = await asService(http.post('/v1/transactions'))
      .set('Idempotency-Key', 'dep-1')
      .set('X-Request-Id', 'req-deposit-1')
      .send({
        kind: 'deposit',
        valueDate: '2025-01-02',
        reference: 'PLAT-D-1',
        lines: [
          { account: 'custody:eur', side: 'debit', amount: '12.30', currency: 'EUR' },
          { account: 'customer:alice', side: 'credit', amount: '12.30', currency: 'EUR' },
        ],
      })
      .expect(201);
    const transactionId = posted.body.transactionId as string;
    await asService(http.post(`/v1/transactions/${transactionId}/reversal`))
      .set('Idempotency-Key', 'rev-1')
      .send({ description: 'posted twice' })
      .expect((response) => {
        if (response.status >= 300) throw new Error(`reversal answered ${response.status}: ${JSON.stringify(response.body)}`);
      });
    await http.get('/v1/exports/ledger.csv?from=2025-01-01&to=2025-01-31').set('X-Api-Key', TEST_KEYS.auditor).expect(200);

    const auditHttp = request(audit.getHttpServer());
    const search = async () =>
      (await auditHttp.get('/v1/events?service=ledger').set('X-Api-Key', TEST_KEYS.auditor).expect(200)).body.events as {
        seq: number;
        event: Record<string, unknown>;
      }[];
    expect(await eventually(async () => (await search()).length === 5)).toBe(true);
    const events = await search();
    expect(events.map((view) => view.event.type)).toEqual([
      'audit.ledger.account.open',
      'audit.ledger.account.open',
      'audit.ledger.transaction.post',
      'audit.ledger.transaction.reverse',
      'audit.ledger.export.ledger',
    ]);
    const posting = events[2]!.event;
    expect(posting).toMatchObject({
      service: 'ledger',
      actor: { id: 'dev-service', role: 'service' },
      action: 'transaction_post',
      entity: { type: 'transaction', id: transactionId },
      requestId: 'req-deposit-1',
      details: { idempotencyKey: 'dep-1', kind: 'deposit' },
    });
    expect(posting.afterHash).toMatch(/^[0-9a-f]{64}$/);
    expect(events[3]!.event).toHaveProperty('beforeHash');
    expect(events[4]!.event).toMatchObject({ actor: { id: 'dev-auditor', role: 'auditor' }, entity: { type: 'export' } });

    const exported = await auditHttp.get('/v1/export').set('X-Api-Key', TEST_KEYS.auditor).expect(200);
    const result = await verifyExport(exported.text.trimEnd().split('\n'), { publicKeys: parseVerifierKeyFile(DEVELOPMENT_SIGNING_KEY.verifierKey) });
    expect(result).toMatchObject({ ok: true, summary: { recordCount: 5 } });
  });
});
