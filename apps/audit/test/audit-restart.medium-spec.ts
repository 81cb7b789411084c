import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { generateSigningKey, parseVerifierKeyFile, verifyExport } from '@recon/audit-log';
import { auditSubjectFor, type AuditEventRecordedV1 } from '@recon/contracts';
import { msgHdrsOf, subjectFor } from '@recon/messaging';
import { startMetricsOnlyTelemetry } from '@recon/observability';
import { isolate, TEST_ADMIN_URL, TEST_KEYS, type TestIsolation } from '@recon/testing';
import { Client } from 'pg';
import request from 'supertest';
import { createAuditApp, migrateAudit } from '../src/audit.app';
import { loadAuditConfig, loadAuditSettings } from '../src/audit.config';
import { eventually, ledgerPostingEvent } from './audit-test-env';

const CHECKPOINT_EVERY_MS = 200;
const ORIGIN = 'recon.test/audit';
const OLD_KEY = generateSigningKey(ORIGIN, { seed: new Uint8Array(32).fill(1) });
const NEW_KEY = generateSigningKey(ORIGIN, { seed: new Uint8Array(32).fill(2) });

describe('audit service: time-based checkpoints, restarts and key rotation', () => {
  const telemetry = startMetricsOnlyTelemetry();
  let isolation: TestIsolation;
  let app: NestExpressApplication | undefined;
  let admin: Client;
  let nats: NatsConnection;
  let js: JetStreamClient;

  const config = () => loadAuditConfig(isolation.env());
  const startApp = async (keys: Record<string, string>) => {
    const settings = loadAuditSettings({
      NODE_ENV: 'production',
      ...keys,
      AUDIT_CHECKPOINT_EVERY_EVENTS: '1000',
      AUDIT_CHECKPOINT_EVERY_MS: String(CHECKPOINT_EVERY_MS),
    });
    const started = await createAuditApp(config(), telemetry, { settings, runOutboxRelay: false });
    await started.init();
    return started;
  };
  const publish = async (payload: AuditEventRecordedV1) =>
    js.publish(subjectFor(isolation.namespace, auditSubjectFor(payload.service, payload.action)), JSON.stringify(payload), {
      headers: msgHdrsOf({ 'Nats-Msg-Id': payload.eventId, 'Recon-Schema-Version': '1' }),
    });
  const checkpointSizes = async () =>
    (await admin.query(`SELECT tree_size::int AS size FROM ${isolation.schema}.checkpoints ORDER BY tree_size`)).rows.map((row: { size: number }) => row.size);
  const recordCount = async () => Number((await admin.query(`SELECT count(*) AS n FROM ${isolation.schema}.audit_records`)).rows[0].n);

  beforeAll(async () => {
    isolation = isolate('audit');
    await migrateAudit(config());
    admin = new Client({ connectionString: TEST_ADMIN_URL });
    await admin.connect();
    nats = await connect({ servers: config().NATS_SERVERS });
    js = jetstream(nats);
  });

  afterAll(async () => {
    await app?.close();
    await nats?.close();
    await admin?.end();
    await isolation?.cleanup();
    await telemetry.shutdown();
  });

  it('signs the records that waited AUDIT_CHECKPOINT_EVERY_MS, once, and resumes the tree after a restart with a rotated key', async () => {
    app = await startApp({ AUDIT_SIGNING_KEY: OLD_KEY.signerKey });
    for (let index = 0; index < 3; index += 1) await publish(ledgerPostingEvent(index));
    expect(await eventually(async () => (await recordCount()) === 3)).toBe(true);
    expect(await eventually(async () => (await checkpointSizes()).includes(3), 5_000)).toBe(true);
    const signedOnce = await checkpointSizes();
    await new Promise((resolve) => setTimeout(resolve, 2 * CHECKPOINT_EVERY_MS));
    // Nothing new waits: no further checkpoint. (On a loaded machine the third event can arrive after the
    // first two already waited the interval, which legitimately signs size 2 first.)
    expect(await checkpointSizes()).toEqual(signedOnce);
    expect(signedOnce.at(-1)).toBe(3);
    expect(new Set(signedOnce).size).toBe(signedOnce.length);

    await app.close();
    // Published while the service is down: the work queue keeps them until it is back.
    for (let index = 3; index < 8; index += 1) await publish(ledgerPostingEvent(index));
    app = await startApp({ AUDIT_SIGNING_KEY: NEW_KEY.signerKey, AUDIT_PREVIOUS_PUBLIC_KEYS: OLD_KEY.verifierKey });
    expect(await eventually(async () => (await recordCount()) === 8)).toBe(true);
    const seqs = (await admin.query(`SELECT seq::int AS seq FROM ${isolation.schema}.audit_records ORDER BY seq`)).rows.map((row: { seq: number }) => row.seq);
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);

    const http = request(app.getHttpServer());
    const keys = (await http.get('/v1/keys').set('X-Api-Key', TEST_KEYS.auditor).expect(200)).body;
    expect(keys).toMatchObject({ origin: ORIGIN, signing: [NEW_KEY.verifierKey], previous: [OLD_KEY.verifierKey], insecureDevelopmentKey: false });
    const response = await http.get('/v1/export').set('X-Api-Key', TEST_KEYS.auditor).expect(200);
    const lines = (response.text ?? response.body.toString('utf8')).trimEnd().split('\n');
    // The checkpoint of size 3 carries the old key's signature, the one of size 8 the new key's: both verify.
    const result = await verifyExport(lines, { publicKeys: parseVerifierKeyFile(keys.keyFile) });
    expect(result).toMatchObject({ ok: true, summary: { recordCount: 8 } });
    const withoutOldKey = await verifyExport(lines, { publicKeys: parseVerifierKeyFile(NEW_KEY.verifierKey) });
    expect(withoutOldKey).toMatchObject({ ok: false, failure: { reason: 'unknown-key' } });
  });
});
