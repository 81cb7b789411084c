import { createHash, randomUUID } from 'node:crypto';
import { jetstream, type JetStreamClient, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { auditSubjectFor, type AuditEventRecordedV1 } from '@recon/contracts';
import { msgHdrsOf, subjectFor } from '@recon/messaging';
import { startMetricsOnlyTelemetry } from '@recon/observability';
import { isolate, TEST_ADMIN_URL, type TestIsolation } from '@recon/testing';
import { Client } from 'pg';
import request from 'supertest';
import { createAuditApp, migrateAudit } from '../src/audit.app';
import { loadAuditConfig, loadAuditSettings } from '../src/audit.config';

export interface AuditTestEnv {
  readonly isolation: TestIsolation;
  readonly app: NestExpressApplication;
  readonly http: ReturnType<typeof request>;
  /** Superuser connection: the insider of the tamper tests, and the test's own eyes on the tables. */
  readonly admin: Client;
  readonly nats: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** `schema.table` */
  table(name: string): string;
  publish(payload: AuditEventRecordedV1, messageId?: string): Promise<void>;
  recordCount(): Promise<number>;
  waitForRecords(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startAuditTestEnv(options: { everyEvents: number; everyMs: number; runOutboxRelay?: boolean }): Promise<AuditTestEnv> {
  const telemetry = startMetricsOnlyTelemetry();
  const isolation = isolate('audit');
  const config = loadAuditConfig(isolation.env());
  const settings = loadAuditSettings({
    NODE_ENV: 'test',
    AUDIT_CHECKPOINT_EVERY_EVENTS: String(options.everyEvents),
    AUDIT_CHECKPOINT_EVERY_MS: String(options.everyMs),
  });
  await migrateAudit(config);
  const app = await createAuditApp(config, telemetry, {
    settings,
    ...(options.runOutboxRelay === undefined ? {} : { runOutboxRelay: options.runOutboxRelay }),
  });
  await app.init();
  const admin = new Client({ connectionString: TEST_ADMIN_URL });
  await admin.connect();
  const nats = await connect({ servers: config.NATS_SERVERS });
  const js = jetstream(nats);
  const jsm = await jetstreamManager(nats);
  const table = (name: string) => `${isolation.schema}.${name}`;
  const recordCount = async () => Number((await admin.query(`SELECT count(*) AS n FROM ${table('audit_records')}`)).rows[0].n);
  return {
    isolation,
    app,
    http: request(app.getHttpServer()),
    admin,
    nats,
    js,
    jsm,
    table,
    publish: async (payload, messageId = payload.eventId) => {
      const subject = auditSubjectFor(payload.service, payload.action);
      await js.publish(subjectFor(isolation.namespace, subject), JSON.stringify(payload), {
        headers: msgHdrsOf({ 'Nats-Msg-Id': messageId, 'Recon-Schema-Version': '1' }),
      });
    },
    recordCount,
    waitForRecords: async (count, timeoutMs = 10_000) => {
      const ok = await eventually(async () => (await recordCount()) >= count, timeoutMs);
      if (!ok) throw new Error(`the log holds ${await recordCount()} records, expected ${count} within ${timeoutMs} ms`);
    },
    close: async () => {
      await app.close();
      await nats.close();
      await admin.end();
      await isolation.cleanup();
      await telemetry.shutdown();
    },
  };
}

export async function eventually(condition: () => Promise<boolean>, timeoutMs = 10_000, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A ledger posting's audit event as the ledger's AuditRecorder writes it. */
export function ledgerPostingEvent(index: number, overrides: Partial<AuditEventRecordedV1> = {}): AuditEventRecordedV1 {
  return {
    eventId: randomUUID(),
    occurredAt: new Date(Date.UTC(2025, 0, 2, 10, 0, index)).toISOString(),
    service: 'ledger',
    actor: { id: index % 2 === 0 ? 'dev-service' : 'svc-platform', role: 'service' },
    action: 'ledger.transaction.post',
    entity: { type: 'transaction', id: `TX-${String(index).padStart(4, '0')}` },
    afterHash: createHash('sha256').update(`state-${index}`).digest('hex'),
    requestId: `req-${index}`,
    details: { amount: `${index}.30`, currency: 'EUR' },
    ...overrides,
  };
}
