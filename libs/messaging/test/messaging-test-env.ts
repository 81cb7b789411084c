import { randomBytes } from 'node:crypto';
import { jetstream, type JetStreamClient, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { Client, Pool } from 'pg';
import { MESSAGING_MIGRATIONS } from '../src/messaging.migrations';
import { pgTransactionRunner, type TransactionRunner } from '../src/sql-executor';
import { ensureStreams, STREAMS, streamNameFor } from '../src/streams';

/**
 * One suite's private world on the shared local Postgres and NATS: a `msg_test_<random>` schema with the
 * messaging migrations applied, and a `t<random>` NATS namespace with the streams provisioned. `close()`
 * removes both.
 */
export const TEST_DATABASE_URL = process.env.RECON_TEST_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_NATS_SERVERS = process.env.RECON_TEST_NATS ?? 'nats://127.0.0.1:4222';

export interface MessagingTestEnv {
  readonly schema: string;
  readonly namespace: string;
  readonly pool: Pool;
  readonly transactions: TransactionRunner;
  readonly nats: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** Opens a second private NATS namespace (streams deleted by close()). */
  extraNamespace(): string;
  streamMessageCount(streamKey: 'LEDGER' | 'BANK' | 'RECON' | 'AUDIT', namespace?: string): Promise<number>;
  close(): Promise<void>;
}

export async function createMessagingTestEnv(extraSql = ''): Promise<MessagingTestEnv> {
  const suffix = randomBytes(5).toString('hex');
  const schema = `msg_test_${suffix}`;
  const namespace = `t${suffix}`;
  const namespaces = [namespace];
  const admin = new Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    for (const migration of MESSAGING_MIGRATIONS) {
      await admin.query('BEGIN');
      await admin.query(`SET LOCAL search_path TO ${schema}`);
      await admin.query(migration.sql.replaceAll('{{service_role}}', 'CURRENT_USER'));
      await admin.query('COMMIT');
    }
    if (extraSql !== '') await admin.query(`SET search_path TO ${schema}; ${extraSql}`);
  } finally {
    await admin.end();
  }
  const pool = new Pool({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}`, max: 10 });
  const nats = await connect({ servers: TEST_NATS_SERVERS });
  const js = jetstream(nats);
  const jsm = await jetstreamManager(nats);
  await ensureStreams(jsm, namespace);
  return {
    schema,
    namespace,
    pool,
    transactions: pgTransactionRunner(pool),
    nats,
    js,
    jsm,
    extraNamespace() {
      const extra = `t${randomBytes(5).toString('hex')}`;
      namespaces.push(extra);
      return extra;
    },
    async streamMessageCount(streamKey, inNamespace = namespace) {
      return (await jsm.streams.info(streamNameFor(inNamespace, streamKey))).state.messages;
    },
    async close() {
      for (const ns of namespaces) {
        for (const stream of STREAMS) await jsm.streams.delete(streamNameFor(ns, stream.key)).catch(() => undefined);
      }
      await nats.close();
      await pool.end();
      const cleaner = new Client({ connectionString: TEST_DATABASE_URL });
      await cleaner.connect();
      await cleaner.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await cleaner.end();
    },
  };
}

/** Polls until `check` holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000, intervalMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return check();
}
