/**
 * `npm run bench:ledger`: bulk posting throughput of the ledger over HTTP, against the real Postgres and
 * NATS (outbox relay running). Posts BENCH_TRANSACTIONS (default 100,000) deposits and withdrawals across
 * 1,000 customer sub-accounts in batches of 1,000, BENCH_CONCURRENCY (default 4) requests in flight, and
 * prints transactions/s, p50/p99 batch latency and peak RSS. Leaves nothing behind.
 */
import { startMetricsOnlyTelemetry } from '@recon/observability';
import { isolate } from '@recon/testing';
import type { AddressInfo } from 'node:net';
import { createLedgerApp, migrateLedger } from '../apps/ledger/src/ledger.app';
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
  // The client shares this process with the service: bodies are serialised before the clock starts.
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
    const latenciesMs: number[] = [];
    const started = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < batches.length) {
          const batch = batches[next++];
          const batchStarted = process.hrtime.bigint();
          await call('/v1/transactions/batch', batch);
          latenciesMs.push(Number(process.hrtime.bigint() - batchStarted) / 1e6);
        }
      }),
    );
    const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
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
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await app.close();
    await telemetry.shutdown();
    await isolation.cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:ledger failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
