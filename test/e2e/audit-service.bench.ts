/**
 * The audit service draining a backlog of `audit.*` events into its log: events appended per second and the
 * service process's CPU time per event, in process against the real Postgres and NATS, in an isolated schema and
 * namespace (removed afterwards). BENCH_AUDIT_EVENTS (default 20,000) events are published to the AUDIT stream
 * first, then the service starts and appends them (in batches of AUDIT_CONSUMER_BATCH_SIZE, one transaction
 * each); the clock runs from its start to the last record. Checkpoints every BENCH_AUDIT_CHECKPOINT_EVERY (1,000).
 *
 * bin/run.js builds apps/, libs/ and benchmarks/ only; from the repository root:
 *   node -e "require('./bin/ensure-built').ensureBuilt(); const p = require('path'), fs = require('fs'), swc = require('@swc/core');
 *     const src = p.resolve('test/e2e/audit-service.bench.ts'), out = p.resolve('dist/test/e2e/audit-service.bench.js');
 *     fs.mkdirSync(p.dirname(out), { recursive: true });
 *     fs.writeFileSync(out, swc.transformFileSync(src, { ...require('./scripts/swc-options').swcOptions(), filename: src, outputPath: out }).code);
 *     require(out)"
 */
import { createHash, randomUUID } from 'node:crypto';
import * as os from 'node:os';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { auditSubjectFor, type AuditEventRecordedV1 } from '@recon/contracts';
import { ensureStreams, msgHdrsOf, subjectFor } from '@recon/messaging';
import { startMetricsOnlyTelemetry } from '@recon/observability';
import { isolate, TEST_ADMIN_URL } from '@recon/testing';
import { Client } from 'pg';
import { createAuditApp, migrateAudit } from '../../apps/audit/src/audit.app';
import { loadAuditConfig, loadAuditSettings } from '../../apps/audit/src/audit.config';
import { AUDIT_CONSUMER_BATCH_SIZE } from '../../apps/audit/src/log/interface/audit-events.consumer';

const EVENTS_TOTAL = Number(process.env.BENCH_AUDIT_EVENTS ?? 20_000);
const CHECKPOINT_EVERY = Number(process.env.BENCH_AUDIT_CHECKPOINT_EVERY ?? 1_000);
const PUBLISH_CHUNK = 500;
const DONE_TIMEOUT_MS = 10 * 60_000;

function auditEvent(index: number): AuditEventRecordedV1 {
  return {
    eventId: randomUUID(),
    occurredAt: new Date(Date.UTC(2025, 0, 2, 10, 0, 0, index)).toISOString(),
    service: 'ledger',
    actor: { id: index % 2 === 0 ? 'dev-service' : 'svc-platform', role: 'service' },
    action: 'ledger.transaction.post',
    entity: { type: 'transaction', id: `TX-${String(index).padStart(8, '0')}` },
    afterHash: createHash('sha256').update(`state-${index}`).digest('hex'),
    requestId: `req-${index}`,
    details: { amount: `${index}.30`, currency: 'EUR' },
  };
}

async function main(): Promise<void> {
  if (!Number.isInteger(EVENTS_TOTAL) || EVENTS_TOTAL < 1 || EVENTS_TOTAL > 1_000_000) throw new Error('BENCH_AUDIT_EVENTS must be an integer in 1..1000000');
  const isolation = isolate('audit_bench');
  const config = loadAuditConfig(isolation.env({ LOG_LEVEL: 'error' }));
  const settings = loadAuditSettings({ NODE_ENV: 'test', AUDIT_CHECKPOINT_EVERY_EVENTS: String(CHECKPOINT_EVERY), AUDIT_CHECKPOINT_EVERY_MS: '3600000' });
  const telemetry = startMetricsOnlyTelemetry();
  await migrateAudit(config);
  const nats = await connect({ servers: config.NATS_SERVERS });
  const admin = new Client({ connectionString: TEST_ADMIN_URL });
  await admin.connect();
  let app: Awaited<ReturnType<typeof createAuditApp>> | undefined;
  try {
    await ensureStreams(await jetstreamManager(nats), isolation.namespace);
    const js = jetstream(nats);
    const subject = subjectFor(isolation.namespace, auditSubjectFor('ledger', 'ledger.transaction.post'));
    for (let first = 0; first < EVENTS_TOTAL; first += PUBLISH_CHUNK) {
      const chunk: Promise<unknown>[] = [];
      for (let index = first; index < Math.min(EVENTS_TOTAL, first + PUBLISH_CHUNK); index += 1) {
        const event = auditEvent(index);
        chunk.push(js.publish(subject, JSON.stringify(event), { headers: msgHdrsOf({ 'Nats-Msg-Id': event.eventId, 'Recon-Schema-Version': '1' }) }));
      }
      await Promise.all(chunk);
    }
    const loadAtStart = os.loadavg()[0]!;
    const cpuAtStart = process.cpuUsage();
    const startedMs = Date.now();
    app = await createAuditApp(config, telemetry, { settings });
    await app.init();
    const records = async () => Number((await admin.query(`SELECT count(*) AS n FROM ${isolation.schema}.audit_records`)).rows[0].n);
    const deadline = Date.now() + DONE_TIMEOUT_MS;
    while ((await records()) < EVENTS_TOTAL) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the log to hold every event');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (Date.now() - startedMs) / 1000;
    const cpu = process.cpuUsage(cpuAtStart);
    const checkpoints = Number((await admin.query(`SELECT count(*) AS n FROM ${isolation.schema}.checkpoints`)).rows[0].n);
    const report = {
      events: EVENTS_TOTAL,
      batchSize: AUDIT_CONSUMER_BATCH_SIZE,
      checkpointEvery: CHECKPOINT_EVERY,
      loadAverage1m: { atStart: Number(loadAtStart.toFixed(2)), atEnd: Number(os.loadavg()[0]?.toFixed(2)) },
      cpus: os.cpus().length,
      // From the service's start (boot and head verification included) to the last record visible.
      seconds: Number(seconds.toFixed(2)),
      eventsPerSecond: Math.round(EVENTS_TOTAL / seconds),
      serviceCpuMsPerEvent: Number(((cpu.user + cpu.system) / 1000 / EVENTS_TOTAL).toFixed(3)),
      checkpoints,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await app?.close();
    await nats.close();
    await admin.end();
    await isolation.cleanup();
    await telemetry.shutdown();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`audit-service bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
