import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { dropSchemaAndRole, serviceRoleFor } from '@recon/persistence';
import { Redis } from 'ioredis';

/**
 * Test isolation on the shared local services: each suite gets its own Postgres schema and role, its own
 * NATS namespace (stream names and subjects) and its own Redis key prefix, and removes them afterwards.
 */
export const TEST_ADMIN_URL = process.env.RECON_TEST_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_NATS_SERVERS = process.env.RECON_TEST_NATS ?? 'nats://127.0.0.1:4222';
export const TEST_REDIS_URL = process.env.RECON_TEST_REDIS ?? 'redis://127.0.0.1:6379';

export interface TestIsolation {
  readonly suffix: string;
  readonly schema: string;
  readonly serviceRole: string;
  readonly databaseUrl: string;
  readonly namespace: string;
  readonly redisKeyPrefix: string;
  /** Environment for a service's config loader, pointing everything at the isolated resources. */
  env(extra?: Record<string, string>): Record<string, string>;
  cleanup(): Promise<void>;
}

export function isolate(service: string): TestIsolation {
  const suffix = randomBytes(5).toString('hex');
  const schema = `${service.replaceAll('-', '_')}_t${suffix}`;
  const serviceRole = serviceRoleFor(schema);
  const url = new URL(TEST_ADMIN_URL);
  url.username = serviceRole;
  const databaseUrl = url.toString();
  const namespace = `t${suffix}`;
  const redisKeyPrefix = `test:${suffix}:`;
  return {
    suffix,
    schema,
    serviceRole,
    databaseUrl,
    namespace,
    redisKeyPrefix,
    env: (extra = {}) => ({
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.RECON_TEST_LOG_LEVEL ?? 'silent',
      DATABASE_URL: databaseUrl,
      DATABASE_ADMIN_URL: TEST_ADMIN_URL,
      DATABASE_SCHEMA: schema,
      NATS_SERVERS: TEST_NATS_SERVERS,
      NATS_NAMESPACE: namespace,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: redisKeyPrefix,
      OUTBOX_POLL_INTERVAL_MS: '100',
      ...extra,
    }),
    cleanup: async () => {
      await dropSchemaAndRole(TEST_ADMIN_URL, schema, serviceRole);
      await deleteNamespaceStreams(namespace);
      await deleteRedisKeys(redisKeyPrefix);
    },
  };
}

export async function deleteNamespaceStreams(namespace: string): Promise<void> {
  const nc = await connect({ servers: TEST_NATS_SERVERS });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const stream of jsm.streams.list()) {
      if (stream.config.name.startsWith(`${namespace}_`)) await jsm.streams.delete(stream.config.name);
    }
  } finally {
    await nc.close();
  }
}

/** Deletes every Redis key under the prefix (BullMQ queues, schedulers, locks). */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Test keys matching the development API keys of @recon/config. */
export const TEST_KEYS = {
  ops: 'dev-ops-key-0000000001',
  ops2: 'dev-ops-key-0000000002',
  approver: 'dev-approver-key-00001',
  integrator: 'dev-integrator-key-001',
  auditor: 'dev-auditor-key-000001',
  admin: 'dev-admin-key-00000001',
  service: 'dev-service-key-000001',
} as const;
