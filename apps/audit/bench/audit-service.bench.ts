/**
 * `node bin/run.js apps/audit/bench/audit-service.bench.ts [events]`: publishes audit events to JetStream, times the
 * audit service appending them (inbox, head lock, leaf, Merkle nodes, checkpoint every 1000), then the export and
 * its offline verification. Runs against the local Postgres and NATS in an isolated schema and namespace.
 */
import * as os from 'node:os';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { parseVerifierKeyFile, verifyExport } from '@recon/audit-log';
import { auditSubjectFor } from '@recon/contracts';
import { msgHdrsOf, subjectFor } from '@recon/messaging';
import { startMetricsOnlyTelemetry } from '@recon/observability';
import { isolate, TEST_ADMIN_URL } from '@recon/testing';
import { Client } from 'pg';
import { createAuditApp, migrateAudit } from '../src/audit.app';
import { DEVELOPMENT_SIGNING_KEY, loadAuditConfig, loadAuditSettings } from '../src/audit.config';
import { ExportAuditLogQuery } from '../src/trail/application/export-audit-log.query';
import { ledgerPostingEvent } from '../test/audit-test-env';

const EVENTS_DEFAULT = 5_000;
const EVENTS_MAX = 1_000_000;
const PUBLISH_WINDOW = 500;

async function main(): Promise<void> {
  const eventCount = Number(process.argv[2] ?? EVENTS_DEFAULT);
  if (!Number.isInteger(eventCount) || eventCount < 1 || eventCount > EVENTS_MAX) throw new Error(`events must be 1..${EVENTS_MAX}`);
  const telemetry = startMetricsOnlyTelemetry();
  const isolation = isolate('audit');
  const config = loadAuditConfig(isolation.env({ LOG_LEVEL: 'warn' }));
  await migrateAudit(config);
  const app = await createAuditApp(config, telemetry, { settings: loadAuditSettings({ NODE_ENV: 'test' }), runOutboxRelay: false });
  await app.init();
  const admin = new Client({ connectionString: TEST_ADMIN_URL });
  await admin.connect();
  const nats = await connect({ servers: config.NATS_SERVERS });
  const js = jetstream(nats);
  try {
    const loadAtStart = os.loadavg()[0]!;
    const cpuAtStart = process.cpuUsage();
    const started = process.hrtime.bigint();
    const pending: Promise<unknown>[] = [];
    for (let index = 0; index < eventCount; index += 1) {
      const event = ledgerPostingEvent(index);
      pending.push(
        js.publish(subjectFor(isolation.namespace, auditSubjectFor(event.service, event.action)), JSON.stringify(event), {
          headers: msgHdrsOf({ 'Nats-Msg-Id': event.eventId, 'Recon-Schema-Version': '1' }),
        }),
      );
      if (pending.length >= PUBLISH_WINDOW) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    const published = process.hrtime.bigint();
    for (;;) {
      const count = Number((await admin.query(`SELECT count(*) AS n FROM ${isolation.schema}.audit_records`)).rows[0].n);
      if (count >= eventCount) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const appended = process.hrtime.bigint();
    // This process publishes too: the CPU per event covers publishing and appending.
    const cpu = process.cpuUsage(cpuAtStart);
    const prepared = await app.get(ExportAuditLogQuery).prepare({ fromSeq: 0 });
    const lines: string[] = [];
    let bytes = 0;
    for await (const line of prepared.lines) {
      lines.push(line);
      bytes += Buffer.byteLength(line) + 1;
    }
    const exported = process.hrtime.bigint();
    const result = await verifyExport(lines, { publicKeys: parseVerifierKeyFile(DEVELOPMENT_SIGNING_KEY.verifierKey) });
    const verified = process.hrtime.bigint();
    if (!result.ok) throw new Error(`export failed verification: ${result.failure.reason}`);
    const seconds = (from: bigint, to: bigint) => Number(to - from) / 1e9;
    const rate = (count: number, from: bigint, to: bigint) => Math.round(count / seconds(from, to));
    process.stdout.write(
      [
        `audit service bench: ${eventCount} events`,
        `  published      ${seconds(started, published).toFixed(2)} s`,
        `  appended       ${seconds(started, appended).toFixed(2)} s from the first publish: ${rate(eventCount, started, appended)} events/s`,
        `  exported       ${seconds(appended, exported).toFixed(2)} s, ${(bytes / 1024 / 1024).toFixed(1)} MiB: ${rate(eventCount, appended, exported)} records/s`,
        `  verified       ${seconds(exported, verified).toFixed(2)} s: ${rate(eventCount, exported, verified)} records/s`,
        `  CPU            ${((cpu.user + cpu.system) / 1000 / eventCount).toFixed(3)} ms per event until appended (publisher included)`,
        `  load average   ${loadAtStart.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at the end (${os.cpus().length} CPUs)`,
        '',
      ].join('\n'),
    );
  } finally {
    await app.close();
    await nats.close();
    await admin.end();
    await isolation.cleanup();
    await telemetry.shutdown();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
