/**
 * `npm run bench:ledger`: bulk posting throughput of the ledger over HTTP, against the real Postgres and
 * NATS (outbox relay running). Posts BENCH_TRANSACTIONS (default 100,000) deposits and withdrawals across
 * 1,000 customer sub-accounts in batches of 1,000, BENCH_CONCURRENCY (default 4) requests in flight, and
 * prints transactions/s, p50/p99 batch latency and peak RSS, then how long the relay took to publish the last
 * event, and CPU per transaction of the service, Postgres and NATS. The HTTP client runs in a child process, as a
 * platform's client would (it costs the service's event loop nothing). Leaves nothing behind.
 */
import { startMetricsOnlyTelemetry } from '@recon/observability';
import { isolate } from '@recon/testing';
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { createLedgerApp, migrateLedger } from '../apps/ledger/src/ledger.app';
import { backendCpuMs, backendPids, cpuSince, type CpuSpent, processCpuMs } from './process-cpu';
import { loadLedgerConfig } from '../apps/ledger/src/ledger.config';

const TRANSACTIONS_TOTAL = Number(process.env.BENCH_TRANSACTIONS ?? 100_000);
const BATCH_SIZE = 1_000;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const CUSTOMERS = 1_000;
const SERVICE_KEY = 'dev-service-key-000001';

async function main(): Promise<void> {
  const isolation = isolate('ledger_bench');
  const config = loadLedgerConfig(
    isolation.env({
      DATABASE_POOL_SIZE_MAX: '16',
      HTTP_BODY_BYTES_MAX: String(16 * 1024 * 1024),
      ...(process.env.OUTBOX_BATCH_SIZE === undefined ? {} : { OUTBOX_BATCH_SIZE: process.env.OUTBOX_BATCH_SIZE }),
    }),
  );
  const telemetry = startMetricsOnlyTelemetry();
  await migrateLedger(config);
  // BENCH_RELAY=off measures posting alone: the outbox then drains after the run (or in another process).
  const app = await createLedgerApp(config, telemetry, { runOutboxRelay: process.env.BENCH_RELAY !== 'off' });
  await app.listen(0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  const call = async (path: string, body: unknown) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Api-Key': SERVICE_KEY },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    if (response.status >= 300) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  try {
    await call('/v1/accounts', { code: 'custody:eur', kind: 'custody', currency: 'EUR', name: 'FBO', bankId: 'BANKDEFFXXX', bankAccount: 'DE00BENCH' });
    for (let index = 0; index < CUSTOMERS; index += 1) {
      await call('/v1/accounts', { code: `customer:${index}`, kind: 'customer', currency: 'EUR', name: `customer ${index}`, custodyAccount: 'custody:eur' });
    }
    const client = await startClient(baseUrl);
    const cpuBefore = {
      node: process.cpuUsage(),
      postgres: processCpuMs('postgres'),
      nats: processCpuMs('nats-server'),
      backends: backendCpuMs(await backendPids(config.DATABASE_URL)),
    };
    const { latenciesMs, elapsedS } = await client.run();
    const cpuPosting = cpuSince(cpuBefore, await backendPids(config.DATABASE_URL));
    // The relay must keep up, not leave a backlog behind: how many events were still unpublished at the end, and
    // how long they took to drain (with BENCH_RELAY=off nothing drains here).
    const unpublishedAtEnd = await countUnpublished(config.DATABASE_URL, isolation.schema);
    let drainSeconds: number | undefined;
    if (process.env.BENCH_RELAY !== 'off') {
      const drainStarted = process.hrtime.bigint();
      while ((await countUnpublished(config.DATABASE_URL, isolation.schema)) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      drainSeconds = Number(process.hrtime.bigint() - drainStarted) / 1e9;
    }
    const cpuTotal = cpuSince(cpuBefore, await backendPids(config.DATABASE_URL));
    const totalS = elapsedS + (drainSeconds ?? 0);
    latenciesMs.sort((a, b) => a - b);
    const percentile = (p: number) => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor((p / 100) * latenciesMs.length))]?.toFixed(1);
    const report = {
      transactions: TRANSACTIONS_TOTAL,
      batchSize: BATCH_SIZE,
      concurrency: CONCURRENCY,
      outboxRelayInProcess: process.env.BENCH_RELAY !== 'off',
      elapsedSeconds: Number(elapsedS.toFixed(2)),
      transactionsPerSecond: Math.round(TRANSACTIONS_TOTAL / elapsedS),
      batchLatencyP50Ms: percentile(50),
      batchLatencyP99Ms: percentile(99),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      outboxUnpublishedAtEnd: unpublishedAtEnd,
      outboxDrainSeconds: drainSeconds === undefined ? null : Number(drainSeconds.toFixed(2)),
      transactionsPerSecondPublished: drainSeconds === undefined ? null : Math.round(TRANSACTIONS_TOTAL / totalS),
      // CPU per transaction while posting (and, for `WithDrain`, until every event was published): this process
      // (service + client + relay), the Postgres server and the NATS server. Comparable on a loaded machine.
      cpuMicrosPerTransaction: perTransaction(cpuPosting),
      cpuMicrosPerTransactionWithDrain: perTransaction(cpuTotal),
      loadAverage1m: Number(loadavg()[0]?.toFixed(2)),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await app.close();
    await telemetry.shutdown();
    await isolation.cleanup();
  }
}

function perTransaction(spent: CpuSpent): Record<string, number | null> {
  const micros = (ms: number | undefined) => (ms === undefined ? null : Math.round((ms * 1000) / TRANSACTIONS_TOTAL));
  return {
    nodeUser: micros(spent.nodeUserMs),
    nodeSystem: micros(spent.nodeSystemMs),
    // Only the backends serving the service's connections: other users of the shared server are not counted
    // (the whole server's figure, `postgresServer`, includes them, and its WAL writer and checkpointer).
    postgres: micros(spent.postgresBackendsMs),
    postgresServer: micros(spent.postgresMs),
    nats: micros(spent.natsMs),
  };
}

async function countUnpublished(databaseUrl: string, schema: string): Promise<number> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ count: string }>(`SELECT count(*)::text AS count FROM "${schema}".outbox_messages WHERE published_at IS NULL`);
    return Number(result.rows[0]?.count ?? 0);
  } finally {
    await client.end();
  }
}

interface ClientResult {
  readonly latenciesMs: number[];
  readonly elapsedS: number;
}

/** Forks this file as the client: it prepares every request body, says `ready`, and posts on `go`. */
async function startClient(baseUrl: string): Promise<{ run(): Promise<ClientResult> }> {
  const child = fork(__filename, [], { env: { ...process.env, BENCH_LEDGER_CLIENT_OF: baseUrl }, stdio: 'inherit' });
  const nextMessage = () =>
    new Promise<{ kind: string } & Partial<ClientResult> & { error?: string }>((resolve, reject) => {
      child.once('message', (message) => resolve(message as { kind: string }));
      child.once('exit', (code) => reject(new Error(`bench client exited with ${code}`)));
    });
  const ready = await nextMessage();
  if (ready.kind !== 'ready') throw new Error(`bench client: ${ready.error ?? ready.kind}`);
  return {
    async run() {
      const done = nextMessage();
      child.send('go');
      const result = await done;
      child.disconnect();
      if (result.kind !== 'done') throw new Error(`bench client: ${result.error ?? result.kind}`);
      return { latenciesMs: result.latenciesMs ?? [], elapsedS: result.elapsedS ?? 0 };
    },
  };
}

async function runClient(baseUrl: string): Promise<void> {
  const send = (message: object) => new Promise<void>((resolve) => process.send?.(message, () => resolve()));
  try {
    const batches: string[] = [];
    for (let start = 0; start < TRANSACTIONS_TOTAL; start += BATCH_SIZE) {
      const batch = [];
      for (let index = start; index < Math.min(start + BATCH_SIZE, TRANSACTIONS_TOTAL); index += 1) {
        const customer = `customer:${index % CUSTOMERS}`;
        // Two deposits for every withdrawal of a smaller amount keeps every customer above zero; withdrawals
        // start only once more batches than are ever in flight have funded every customer.
        const isWithdrawal = index % 3 === 2 && index >= BATCH_SIZE * (CONCURRENCY + 3);
        const amount = isWithdrawal ? '1.00' : '2.50';
        batch.push({
          idempotencyKey: `bench-${index}`,
          kind: isWithdrawal ? 'withdrawal' : 'deposit',
          valueDate: '2025-01-02',
          reference: `BENCH-${index}`,
          lines: isWithdrawal
            ? [
                { account: customer, side: 'debit', amount, currency: 'EUR' },
                { account: 'custody:eur', side: 'credit', amount, currency: 'EUR' },
              ]
            : [
                { account: 'custody:eur', side: 'debit', amount, currency: 'EUR' },
                { account: customer, side: 'credit', amount, currency: 'EUR' },
              ],
        });
      }
      batches.push(JSON.stringify({ transactions: batch }));
    }
    await send({ kind: 'ready' });
    await new Promise((resolve) => process.once('message', resolve));
    const latenciesMs: number[] = [];
    const started = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < batches.length) {
          const batch = batches[next++];
          const batchStarted = process.hrtime.bigint();
          const response = await fetch(`${baseUrl}/v1/transactions/batch`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'X-Api-Key': SERVICE_KEY },
            body: batch,
          });
          const text = await response.text();
          if (response.status !== 200) throw new Error(`batch: ${response.status} ${text}`);
          latenciesMs.push(Number(process.hrtime.bigint() - batchStarted) / 1e6);
        }
      }),
    );
    await send({ kind: 'done', latenciesMs, elapsedS: Number(process.hrtime.bigint() - started) / 1e9 });
  } catch (error) {
    await send({ kind: 'failed', error: error instanceof Error ? error.message : String(error) });
  }
}

const clientOf = process.env.BENCH_LEDGER_CLIENT_OF;
if (clientOf === undefined) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench:ledger failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
} else {
  void runClient(clientOf);
}
