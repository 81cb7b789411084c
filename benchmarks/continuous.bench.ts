/**
 * `npm run bench:continuous`: continuous matching throughput and latency of the reconciliation service, in
 * process, against the real Postgres, NATS (JetStream) and Redis. Publishes BENCH_LINES (default 20,000) bank
 * lines and their ledger partners straight to an isolated namespace's LEDGER and BANK streams, as the gateway's
 * and the ledger's outbox relays would, and reports bank lines/s and the p50/p99 latency from a line's
 * publication (its `receivedAt`) to the moment its transaction stored it, matched or pending (`processed_at`,
 * the last round trips of that transaction follow within milliseconds). Targets: >= 2,000 lines/s, p99 < 1 s.
 * `--lines N` (BENCH_LINES), `--rate R` (BENCH_RATE: lines/s published, for latency below saturation; default as fast
 * as possible, which measures throughput), BENCH_CONSUMER_CONCURRENCY (default 16 per consumer). Leaves nothing behind.
 */
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startMetricsOnlyTelemetry } from '@recon/observability';
import { isolate, TEST_ADMIN_URL } from '@recon/testing';
import { Client } from 'pg';
import { bankLine, movement, ReconEventPublisher } from '../apps/reconciliation/test/recon-events.fixture';
import { createReconciliationApp, migrateReconciliation } from '../apps/reconciliation/src/reconciliation.app';
import { loadReconciliationConfig, loadReconciliationSettings } from '../apps/reconciliation/src/reconciliation.config';

const LINES_TOTAL = Number(process.env.BENCH_LINES ?? argument('--lines') ?? 20_000);
const CONSUMER_CONCURRENCY = Number(process.env.BENCH_CONSUMER_CONCURRENCY ?? 16);
/** Bank lines (each with its ledger partner) published per second; 0 publishes as fast as JetStream takes them. */
const RATE_LINES_PER_SECOND = Number(process.env.BENCH_RATE ?? argument('--rate') ?? 0);
/** Publishes awaiting their JetStream acknowledgement at once. */
const PUBLISH_WINDOW = 512;
const DONE_TIMEOUT_MS = 10 * 60_000;
const ACCOUNT = 'DE00BENCH0000000001';
const CUSTODY_ID = 'custody-bench';
const DAY = '2025-01-02';

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

async function main(): Promise<void> {
  if (!Number.isInteger(LINES_TOTAL) || LINES_TOTAL < 1 || LINES_TOTAL > 1_000_000) throw new Error('BENCH_LINES must be an integer in 1..1000000');
  const isolation = isolate('recon_bench');
  const config = loadReconciliationConfig(isolation.env({ DATABASE_POOL_SIZE_MAX: String(2 * CONSUMER_CONCURRENCY + 4), LOG_LEVEL: 'error' }));
  const settings = loadReconciliationSettings({ RECON_SCHEDULER_ENABLED: 'false', RECON_CONSUMER_CONCURRENCY: String(CONSUMER_CONCURRENCY) });
  const telemetry = startMetricsOnlyTelemetry();
  await migrateReconciliation(config);
  const app = await createReconciliationApp(config, telemetry, { settings });
  await app.init();
  const nats = await connect({ servers: config.NATS_SERVERS });
  const admin = new Client({ connectionString: TEST_ADMIN_URL });
  await admin.connect();
  await admin.query(`SET search_path TO ${isolation.schema}`);
  const count = async (table: string) => Number((await admin.query(`SELECT count(*) FROM ${table}`)).rows[0].count);
  let peakRssBytes = 0;
  const rssTimer = setInterval(() => (peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss)), 250);
  try {
    const events = new ReconEventPublisher(jetstream(nats), isolation.namespace);
    await events.custodyAccountOpened({ accountId: CUSTODY_ID, bankAccount: ACCOUNT, currency: 'EUR' });
    const startedMs = Date.now();
    const inFlight = new Set<Promise<void>>();
    const send = async (publish: () => Promise<void>) => {
      const promise = publish().finally(() => inFlight.delete(promise));
      inFlight.add(promise);
      if (inFlight.size >= PUBLISH_WINDOW) await Promise.race(inFlight);
    };
    for (let index = 0; index < LINES_TOTAL; index += 1) {
      if (RATE_LINES_PER_SECOND > 0) {
        const dueMs = startedMs + (index * 1000) / RATE_LINES_PER_SECOND;
        if (dueMs > Date.now()) await new Promise((resolve) => setTimeout(resolve, dueMs - Date.now()));
      }
      const reference = `BENCH-${String(index).padStart(8, '0')}`;
      const cents = 100 + (index % 100_000);
      const amount = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
      const isWithdrawal = index % 4 === 3;
      const now = new Date().toISOString();
      await send(() =>
        events.transactionPosted(
          movement({
            custodyAccountId: CUSTODY_ID,
            kind: isWithdrawal ? 'withdrawal' : 'deposit',
            amount,
            currency: 'EUR',
            valueDate: DAY,
            reference,
            postedAt: now,
          }),
        ),
      );
      // One line in five names the payment only in its free text (ref-in-text), the rest in the end-to-end id.
      const named = index % 5 === 4 ? { remittance: `payment ${reference.replace('-', ' ')} thanks` } : { endToEndId: reference };
      await send(() =>
        events.lineReceived(
          bankLine({
            account: ACCOUNT,
            currency: 'EUR',
            statementId: 'BENCH-STMT',
            lineNo: index + 1,
            amount: isWithdrawal ? `-${amount}` : amount,
            valueDate: DAY,
            bankRef: `BR${index}`,
            receivedAt: new Date().toISOString(),
            fileId: randomUUID(),
            ...named,
          }),
        ),
      );
    }
    await Promise.all(inFlight);
    const publishedMs = Date.now();
    const deadline = Date.now() + DONE_TIMEOUT_MS;
    while ((await count('bank_items')) < LINES_TOTAL || (await count('ledger_items')) < LINES_TOTAL) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the service to store every item');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const stats = (
      await admin.query(
        `SELECT extract(epoch FROM (processed_at - received_at)) * 1000 AS latency_ms, extract(epoch FROM processed_at) * 1000 AS processed_ms, matched_at IS NOT NULL AS matched
           FROM bank_items`,
      )
    ).rows as { latency_ms: string; processed_ms: string; matched: boolean }[];
    const latencies = stats.map((row) => Number(row.latency_ms)).sort((a, b) => a - b);
    const lastProcessedMs = Math.max(...stats.map((row) => Number(row.processed_ms)));
    // Wait for the last partners to be matched (a line stored before its ledger entry is matched by the entry's transaction).
    while ((await count('matches')) < LINES_TOTAL && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    const matchedMs = Date.now();
    const matches = await count('matches');
    const elapsedSeconds = (lastProcessedMs - startedMs) / 1000;
    const report = {
      bankLines: LINES_TOTAL,
      ledgerEntries: LINES_TOTAL,
      consumerConcurrency: CONSUMER_CONCURRENCY,
      publishRateLinesPerSecond: RATE_LINES_PER_SECOND > 0 ? RATE_LINES_PER_SECOND : 'unlimited',
      loadAverage1m: Number(os.loadavg()[0]?.toFixed(2)),
      cpus: os.cpus().length,
      publishSeconds: Number(((publishedMs - startedMs) / 1000).toFixed(2)),
      processSeconds: Number(elapsedSeconds.toFixed(2)),
      bankLinesPerSecond: Math.round(LINES_TOTAL / elapsedSeconds),
      eventsPerSecond: Math.round((2 * LINES_TOTAL) / elapsedSeconds),
      latencyMs: {
        p50: Math.round(percentile(latencies, 0.5)),
        p99: Math.round(percentile(latencies, 0.99)),
        max: Math.round(latencies[latencies.length - 1] ?? Number.NaN),
      },
      matchGroups: matches,
      matchRate: Number((matches / LINES_TOTAL).toFixed(4)),
      allMatchedAfterSeconds: Number(((matchedMs - startedMs) / 1000).toFixed(2)),
      peakRssMiB: Math.round(peakRssBytes / 1024 / 1024),
      targets: { linesPerSecondMin: 2_000, p99MsMax: 1_000 },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    clearInterval(rssTimer);
    await app.close();
    await nats.close();
    await admin.end();
    await isolation.cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:continuous failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
