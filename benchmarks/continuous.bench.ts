/**
 * `npm run bench:continuous`: continuous matching throughput and latency of the reconciliation service, in
 * process, against the real Postgres, NATS (JetStream) and Redis. Publishes BENCH_LINES (default 20,000) bank
 * lines and their ledger partners straight to an isolated namespace's LEDGER and BANK streams, as the gateway's
 * and the ledger's outbox relays would, and reports bank lines/s and the p50/p99 latency from a line's
 * publication (its `receivedAt`) to the moment its transaction's commit made it visible, matched or pending: a
 * second connection polls the new bank lines every POLL_MS (the latency is thus at most POLL_MS + one query
 * pessimistic). `storedLatencyMs` is the older measure, up to the row's insertion (`processed_at`, before the rest
 * of its batch's transaction). Throughput counts until every line and entry is visible. Targets: >= 2,000 lines/s,
 * p99 < 1 s.
 * `--lines N` (BENCH_LINES), `--rate R` (BENCH_RATE: lines/s published, for latency below saturation; default as fast
 * as possible, which measures throughput), BENCH_CONSUMER_CONCURRENCY (default 16 per consumer: the one-by-one
 * fallback's). Leaves nothing behind.
 *
 * The publisher runs in a child process (this file, forked with `--publisher`), so that the service's event loop
 * and CPU time are its own: `serviceCpuMsPerLine` is this process's CPU time (user + system) while the items were
 * handled, over the bank lines (each line comes with its ledger entry: two events). The publisher issues its
 * publishes in chunks (one socket write per chunk) and awaits their acknowledgements a few chunks behind.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { streamNameFor } from '@recon/messaging';
import { startMetricsOnlyTelemetry } from '@recon/observability';
import { isolate, TEST_ADMIN_URL } from '@recon/testing';
import { Client } from 'pg';
import { bankLine, movement, ReconEventPublisher } from '../apps/reconciliation/test/recon-events.fixture';
import { CONSUMERS, ReconConsumers } from '../apps/reconciliation/src/matching/interface/recon.consumers';
import { createReconciliationApp, migrateReconciliation } from '../apps/reconciliation/src/reconciliation.app';
import { loadReconciliationConfig, loadReconciliationSettings } from '../apps/reconciliation/src/reconciliation.config';
import { backendCpuMs, backendPids, type CpuSnapshot, cpuSince, processCpuMs } from './process-cpu';

const LINES_TOTAL = Number(process.env.BENCH_LINES ?? argument('--lines') ?? 20_000);
/**
 * Lines (with their entries) handled before the measurement, after which the item tables are analysed, as
 * autovacuum does within a minute in any deployment: a fresh schema's planner has no statistics. 0 measures cold.
 */
const WARMUP_LINES = Number(process.env.BENCH_WARMUP ?? argument('--warmup') ?? 2_000);
const CONSUMER_CONCURRENCY = Number(process.env.BENCH_CONSUMER_CONCURRENCY ?? 16);
/** Bank lines (each with its ledger partner) published per second; 0 publishes as fast as JetStream takes them. */
const RATE_LINES_PER_SECOND = Number(process.env.BENCH_RATE ?? argument('--rate') ?? 0);
/** Lines (each two events) published with one socket write, and chunks awaiting their JetStream acknowledgements at once. */
const PUBLISH_CHUNK_LINES_MAX = 200;
const PUBLISH_CHUNKS_IN_FLIGHT = 4;
const PUBLISHER_FLAG = '--publisher';
const POLL_MS = 50;
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
  if (!Number.isInteger(WARMUP_LINES) || WARMUP_LINES < 0 || LINES_TOTAL + WARMUP_LINES > 100_000)
    throw new Error('BENCH_WARMUP must be a non-negative integer, and BENCH_LINES + BENCH_WARMUP at most 100000 (amounts repeat beyond)');
  const isolation = isolate('recon_bench');
  const config = loadReconciliationConfig(isolation.env({ DATABASE_POOL_SIZE_MAX: String(2 * CONSUMER_CONCURRENCY + 4), LOG_LEVEL: 'error' }));
  const settings = loadReconciliationSettings({ RECON_SCHEDULER_ENABLED: 'false', RECON_CONSUMER_CONCURRENCY: String(CONSUMER_CONCURRENCY) });
  const telemetry = startMetricsOnlyTelemetry();
  await migrateReconciliation(config);
  const app = await createReconciliationApp(config, telemetry, { settings });
  await app.init();
  const nats = await connect({ servers: config.NATS_SERVERS });
  const jsm = await jetstreamManager(nats);
  const admin = new Client({ connectionString: TEST_ADMIN_URL });
  await admin.connect();
  await admin.query(`SET search_path TO ${isolation.schema}`);
  const count = async (table: string) => Number((await admin.query(`SELECT count(*) FROM ${table}`)).rows[0].count);
  let peakRssBytes = 0;
  const rssTimer = setInterval(() => (peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss)), 250);
  try {
    const events = new ReconEventPublisher(jetstream(nats), isolation.namespace);
    await events.custodyAccountOpened({ accountId: CUSTODY_ID, bankAccount: ACCOUNT, currency: 'EUR' });
    // Each bank line's latency, publication -> first seen committed (line_no is its index + 1).
    const visibleLatencyMs = new Map<number, number>();
    let allVisibleMs = 0;
    const poller = new Client({ connectionString: TEST_ADMIN_URL });
    await poller.connect();
    await poller.query(`SET search_path TO ${isolation.schema}`);
    let polling = true;
    const polled = (async () => {
      let lowWater = 0;
      while (polling) {
        const rows = (
          await poller.query(
            'SELECT line_no, (extract(epoch FROM received_at) * 1000)::float8 AS received_ms FROM bank_items WHERE line_no > $1 AND line_no <= $2',
            [lowWater, LINES_TOTAL],
          )
        ).rows as { line_no: number; received_ms: number }[];
        const seenMs = Date.now();
        for (const row of rows) if (!visibleLatencyMs.has(row.line_no)) visibleLatencyMs.set(row.line_no, seenMs - row.received_ms);
        while (visibleLatencyMs.has(lowWater + 1)) lowWater += 1;
        if (lowWater >= LINES_TOTAL && allVisibleMs === 0) {
          const ledger = Number((await poller.query('SELECT count(*) FROM ledger_items')).rows[0].count);
          if (ledger >= LINES_TOTAL + WARMUP_LINES) allVisibleMs = Date.now();
        }
        if (allVisibleMs > 0) return;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    })();
    const publisher = fork(__filename, [PUBLISHER_FLAG], {
      env: {
        ...process.env,
        BENCH_NAMESPACE: isolation.namespace,
        BENCH_NATS_SERVERS: config.NATS_SERVERS.join(','),
        BENCH_LINES: String(LINES_TOTAL),
        // The publisher paces by the rate and publishes the warm-up: both reach it whether given as flags or in the environment.
        BENCH_RATE: String(RATE_LINES_PER_SECOND),
        BENCH_WARMUP: String(WARMUP_LINES),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    // The clock starts when the publisher (its modules loaded, connected) publishes its first line.
    let loadAtStart = 0;
    let cpuBefore: CpuSnapshot | undefined;
    let cpuAtStart = process.cpuUsage();
    let startedMs = 0;
    const publishedMs = await new Promise<number>((resolve, reject) => {
      publisher.on('message', (message: { warmedUp?: boolean; startedMs?: number; publishedMs?: number }) => {
        if (message.warmedUp === true) {
          void (async () => {
            while ((await count('matches')) < WARMUP_LINES) await new Promise((resolve) => setTimeout(resolve, 100));
            await admin.query('ANALYZE ledger_items, bank_items');
            const pids = await backendPids(config.DATABASE_URL);
            cpuBefore = { node: process.cpuUsage(), postgres: processCpuMs('postgres'), nats: processCpuMs('nats-server'), backends: backendCpuMs(pids) };
            publisher.send({ go: true });
          })().catch(reject);
        }
        if (message.startedMs !== undefined) {
          startedMs = message.startedMs;
          loadAtStart = os.loadavg()[0]!;
          cpuAtStart = process.cpuUsage();
        }
        if (message.publishedMs !== undefined) resolve(message.publishedMs);
      });
      publisher.on('exit', (code) => reject(new Error(`the publisher exited with ${code}`)));
    });
    const deadline = Date.now() + DONE_TIMEOUT_MS;
    while (allVisibleMs === 0) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the service to store every item');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const spent = cpuSince(cpuBefore!, await backendPids(config.DATABASE_URL));
    polling = false;
    await polled;
    await poller.end();
    const visible = [...visibleLatencyMs.values()].sort((a, b) => a - b);
    const stats = (
      await admin.query(`SELECT extract(epoch FROM (processed_at - received_at)) * 1000 AS latency_ms FROM bank_items WHERE line_no <= $1`, [LINES_TOTAL])
    ).rows as {
      latency_ms: string;
    }[];
    const latencies = stats.map((row) => Number(row.latency_ms)).sort((a, b) => a - b);
    // Wait for the last partners to be matched (a line stored before its ledger entry is matched by the entry's transaction).
    while ((await count('matches')) < LINES_TOTAL + WARMUP_LINES && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    const matchedMs = Date.now();
    const cpu = process.cpuUsage(cpuAtStart);
    const matches = (await count('matches')) - WARMUP_LINES;
    const elapsedSeconds = (allVisibleMs - startedMs) / 1000;
    const report = {
      bankLines: LINES_TOTAL,
      ledgerEntries: LINES_TOTAL,
      warmupLines: WARMUP_LINES,
      consumerConcurrency: CONSUMER_CONCURRENCY,
      publishRateLinesPerSecond: RATE_LINES_PER_SECOND > 0 ? RATE_LINES_PER_SECOND : 'unlimited',
      loadAverage1m: { atStart: Number(loadAtStart.toFixed(2)), atEnd: Number(os.loadavg()[0]?.toFixed(2)) },
      cpus: os.cpus().length,
      publishSeconds: Number(((publishedMs - startedMs) / 1000).toFixed(2)),
      processSeconds: Number(elapsedSeconds.toFixed(2)),
      bankLinesPerSecond: Math.round(LINES_TOTAL / elapsedSeconds),
      eventsPerSecond: Math.round((2 * LINES_TOTAL) / elapsedSeconds),
      // Polling the counts above costs a little of it too.
      serviceCpuMsPerLine: Number(((cpu.user + cpu.system) / 1000 / LINES_TOTAL).toFixed(3)),
      serviceCpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
      // CPU per bank line (with its entry) until every item was stored, in microseconds: this process (the service,
      // and the bench's polling), the Postgres backends of the service's role, the whole Postgres server (other
      // users of the shared server included) and NATS (the publisher's publishes included).
      cpuMicrosPerLine: {
        service: Math.round(((spent.nodeUserMs + spent.nodeSystemMs) * 1000) / LINES_TOTAL),
        postgres: Math.round((spent.postgresBackendsMs * 1000) / LINES_TOTAL),
        postgresServer: spent.postgresMs === undefined ? null : Math.round((spent.postgresMs * 1000) / LINES_TOTAL),
        nats: spent.natsMs === undefined ? null : Math.round((spent.natsMs * 1000) / LINES_TOTAL),
      },
      latencyMs: {
        p50: Math.round(percentile(visible, 0.5)),
        p99: Math.round(percentile(visible, 0.99)),
        max: Math.round(visible[visible.length - 1] ?? Number.NaN),
      },
      storedLatencyMs: {
        p50: Math.round(percentile(latencies, 0.5)),
        p99: Math.round(percentile(latencies, 0.99)),
        max: Math.round(latencies[latencies.length - 1] ?? Number.NaN),
      },
      matchGroups: matches,
      matchRate: Number((matches / LINES_TOTAL).toFixed(4)),
      allMatchedAfterSeconds: Number(((matchedMs - startedMs) / 1000).toFixed(2)),
      peakRssMiB: Math.round(peakRssBytes / 1024 / 1024),
      // Batches committed, batches handled again one by one, handler failures, and JetStream's redeliveries, per durable.
      consumers: await Promise.all(
        app.get(ReconConsumers).consumers.map(async (consumer, index) => {
          const durable = CONSUMERS[index]!.durableName;
          const info = await jsm.consumers.info(streamNameFor(isolation.namespace, CONSUMERS[index]!.stream), durable);
          const { batchCount, batchFallbackCount, failedCount, duplicateCount } = consumer.stats;
          return { durable, batchCount, batchFallbackCount, failedCount, duplicateCount, redelivered: info.num_redelivered };
        }),
      ),
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

/** The child process: publishes every line and its ledger partner, paced or as fast as JetStream takes them. */
async function publish(): Promise<void> {
  const nats = await connect({ servers: process.env.BENCH_NATS_SERVERS!.split(',') });
  try {
    const events = new ReconEventPublisher(jetstream(nats), process.env.BENCH_NAMESPACE!);
    // The warm-up: lines numbered after the measured ones, published at once; then wait for the parent's go.
    for (let first = LINES_TOTAL; first < LINES_TOTAL + WARMUP_LINES; first += PUBLISH_CHUNK_LINES_MAX) {
      const chunk: Promise<void>[] = [];
      for (let index = first; index < Math.min(LINES_TOTAL + WARMUP_LINES, first + PUBLISH_CHUNK_LINES_MAX); index += 1)
        chunk.push(...publishLine(events, index));
      await Promise.all(chunk);
    }
    const go = new Promise<void>((resolve) => process.on('message', (message: { go?: boolean }) => message.go === true && resolve()));
    process.send!({ warmedUp: true });
    await go;
    const startedMs = Date.now();
    process.send!({ startedMs });
    // Paced: a chunk per ~20 ms of the rate, so that lines leave close to their due time.
    const chunkLines =
      RATE_LINES_PER_SECOND > 0 ? Math.max(1, Math.min(PUBLISH_CHUNK_LINES_MAX, Math.floor(RATE_LINES_PER_SECOND / 50))) : PUBLISH_CHUNK_LINES_MAX;
    const inFlight: Promise<unknown>[] = [];
    for (let first = 0; first < LINES_TOTAL; first += chunkLines) {
      if (RATE_LINES_PER_SECOND > 0) {
        const dueMs = startedMs + (first * 1000) / RATE_LINES_PER_SECOND;
        if (dueMs > Date.now()) await new Promise((resolve) => setTimeout(resolve, dueMs - Date.now()));
      }
      const chunk: Promise<void>[] = [];
      for (let index = first; index < Math.min(LINES_TOTAL, first + chunkLines); index += 1) chunk.push(...publishLine(events, index));
      inFlight.push(Promise.all(chunk));
      if (inFlight.length >= PUBLISH_CHUNKS_IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
    process.send!({ publishedMs: Date.now() });
  } finally {
    await nats.close();
    process.disconnect?.(); // the IPC channel would keep both processes alive
  }
}

function publishLine(events: ReconEventPublisher, index: number): Promise<void>[] {
  const reference = `BENCH-${String(index).padStart(8, '0')}`;
  const cents = 100 + (index % 100_000);
  const amount = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
  const isWithdrawal = index % 4 === 3;
  const now = new Date().toISOString();
  // One line in five names the payment only in its free text (ref-in-text), the rest in the end-to-end id.
  const named = index % 5 === 4 ? { remittance: `payment ${reference.replace('-', ' ')} thanks` } : { endToEndId: reference };
  return [
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
    events.lineReceived(
      bankLine({
        account: ACCOUNT,
        currency: 'EUR',
        statementId: 'BENCH-STMT',
        lineNo: index + 1,
        amount: isWithdrawal ? `-${amount}` : amount,
        valueDate: DAY,
        bankRef: `BR${index}`,
        receivedAt: now,
        fileId: randomUUID(),
        ...named,
      }),
    ),
  ];
}

const role = process.argv.includes(PUBLISHER_FLAG) ? publish : main;
role().catch((error: unknown) => {
  process.stderr.write(`bench:continuous failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
