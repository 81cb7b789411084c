/**
 * Outbox throughput on the local Postgres and NATS: how fast services can enqueue (with and without the NOTIFY
 * trigger, one event per transaction as a use case does) and how fast one or two relays drain the outbox.
 * Run: node bin/run.js libs/messaging/bench/outbox-relay.bench.ts [events]
 */
import { randomUUID } from 'node:crypto';
import { sampleTransactionPosted } from '../../contracts/test-fixtures/sample-events';
import { createMessagingTestEnv, type MessagingTestEnv } from '../test/messaging-test-env';
import { enqueueEvent } from '../src/outbox';
import { OutboxRelay } from '../src/outbox-relay';
import { streamNameFor } from '../src/streams';

const EVENTS_DEFAULT = 20_000;
const ENQUEUE_SECONDS = 5;
const ENQUEUE_WORKERS = 8;

async function fill(env: MessagingTestEnv, count: number): Promise<void> {
  for (let start = 0; start < count; start += 500) {
    await env.transactions.transaction(async (executor) => {
      for (let index = start; index < Math.min(count, start + 500); index += 1) {
        await enqueueEvent(executor, { messageId: randomUUID(), subject: 'ledger.transaction.posted', schemaVersion: 1, payload: sampleTransactionPosted() });
      }
    });
  }
}

async function enqueueRate(env: MessagingTestEnv): Promise<number> {
  const deadline = Date.now() + ENQUEUE_SECONDS * 1_000;
  let committed = 0;
  await Promise.all(
    Array.from({ length: ENQUEUE_WORKERS }, async () => {
      while (Date.now() < deadline) {
        await env.transactions.transaction((executor) =>
          enqueueEvent(executor, { messageId: randomUUID(), subject: 'ledger.transaction.posted', schemaVersion: 1, payload: sampleTransactionPosted() }),
        );
        committed += 1;
      }
    }),
  );
  return committed / ENQUEUE_SECONDS;
}

async function drainRate(env: MessagingTestEnv, relayCount: number, count: number): Promise<number> {
  await env.pool.query('TRUNCATE outbox_messages');
  await env.jsm.streams.purge(streamNameFor(env.namespace, 'LEDGER'));
  await fill(env, count);
  const relays = Array.from({ length: relayCount }, () => new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace, batchSize: 500 }));
  const startedAt = process.hrtime.bigint();
  await Promise.all(
    relays.map(async (relay) => {
      while ((await relay.relayOnce()) > 0);
    }),
  );
  const elapsedMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
  return (count * 1_000) / elapsedMs;
}

async function main(): Promise<void> {
  const events = Number.parseInt(process.argv[2] ?? String(EVENTS_DEFAULT), 10);
  const env = await createMessagingTestEnv();
  try {
    // Armed: every commit NOTIFYs (a relay is asleep). Disarmed: what writers pay while a relay is busy.
    await env.pool.query('UPDATE outbox_relay_wakeup SET relay_waiting_since = now()');
    const withTrigger = await enqueueRate(env);
    await env.pool.query('UPDATE outbox_relay_wakeup SET relay_waiting_since = NULL');
    const withoutTrigger = await enqueueRate(env);
    const oneRelay = await drainRate(env, 1, events);
    const twoRelays = await drainRate(env, 2, events);
    // Writers and a running relay together: the relay must keep up, so the backlog drains right after.
    await env.pool.query('TRUNCATE outbox_messages');
    const relay = new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace, batchSize: 500, pollIntervalMs: 1_000 });
    relay.start();
    const liveEnqueueRate = await enqueueRate(env);
    const writersStoppedAt = Date.now();
    while (Number((await env.pool.query('SELECT count(*) AS n FROM outbox_messages WHERE published_at IS NULL')).rows[0].n) > 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const backlogDrainMs = Date.now() - writersStoppedAt;
    await relay.stop();
    process.stdout.write(
      `${JSON.stringify({
        enqueueTransactionsPerSecondNotifyArmed: Math.round(withTrigger),
        enqueueTransactionsPerSecondNotifyDisarmed: Math.round(withoutTrigger),
        relayMessagesPerSecondOneRelay: Math.round(oneRelay),
        relayMessagesPerSecondTwoRelays: Math.round(twoRelays),
        liveEnqueueTransactionsPerSecondWithRelayRunning: Math.round(liveEnqueueRate),
        backlogDrainMsAfterWritersStop: backlogDrainMs,
        events,
        enqueueWorkers: ENQUEUE_WORKERS,
      })}\n`,
    );
  } finally {
    await env.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
