import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { PlatformConfig } from '@recon/config';
import { startMetricsOnlyTelemetry } from '@recon/observability';
import { isolate, TEST_ADMIN_URL, type TestIsolation } from '@recon/testing';
import { Client } from 'pg';
import request from 'supertest';
import { createReconciliationApp, migrateReconciliation } from '../src/reconciliation.app';
import { loadReconciliationConfig, loadReconciliationSettings } from '../src/reconciliation.config';
import { ReconEventPublisher } from './recon-events.fixture';

const telemetry = startMetricsOnlyTelemetry();

/** Polls `probe` until it gives a value (not undefined), or fails naming `what` after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Settings for suites that run days without the ledger and the gateway: nothing listens at their URLs, so a run's
 * completeness checks become warnings while matching and breaks still run; grace 0 days (every difference of the
 * day is a break), no scheduler (a test starts runs and jobs itself), and no pending sweep in the way.
 */
export const OFFLINE_RUN_SETTINGS: Readonly<Record<string, string>> = {
  RECON_LEDGER_URL: 'http://127.0.0.1:9',
  RECON_GATEWAY_URL: 'http://127.0.0.1:9',
  RECON_HTTP_TIMEOUT_MS: '500',
  RECON_GRACE_DAYS_DEFAULT: '0',
  RECON_PENDING_SWEEP_INTERVAL_MS: '3600000',
  RECON_SCHEDULER_ENABLED: 'false',
  RECON_CONSUMER_CONCURRENCY: '4',
};

export interface ReconTestAppOptions {
  /** Prefix of the isolated schema, role, stream namespace and Redis keys. */
  readonly prefix?: string;
  /** Platform variables besides the isolation's (e.g. NATS_REQUEST_TIMEOUT_MS). */
  readonly env?: Readonly<Record<string, string>>;
  /** The service's own settings (RECON_*), as the environment would give them. */
  readonly settings?: Readonly<Record<string, string>>;
  /** A custody account to open through `ledger.account.opened` (and wait for) before the tests. */
  readonly custody?: { readonly accountId: string; readonly bankAccount: string; readonly currency: string };
}

/**
 * The reconciliation service in process for a medium suite, over the real Postgres, NATS and Redis, in an isolated
 * schema, stream namespace and key prefix: its HTTP API (supertest), an admin connection on its schema, and a
 * publisher of the events it consumes. `close` removes everything it made.
 */
export class ReconTestApp {
  private constructor(
    readonly isolation: TestIsolation,
    readonly config: PlatformConfig,
    readonly app: NestExpressApplication,
    readonly api: ReturnType<typeof request>,
    readonly admin: Client,
    readonly nats: NatsConnection,
    readonly events: ReconEventPublisher,
  ) {}

  static async start(options: ReconTestAppOptions = {}): Promise<ReconTestApp> {
    const isolation = isolate(options.prefix ?? 'reconciliation');
    const config = loadReconciliationConfig(isolation.env({ ...options.env }));
    const settings = loadReconciliationSettings({ ...options.settings });
    await migrateReconciliation(config);
    const app = await createReconciliationApp(config, telemetry, { settings });
    await app.init();
    const admin = new Client({ connectionString: TEST_ADMIN_URL });
    await admin.connect();
    await admin.query(`SET search_path TO ${isolation.schema}`);
    const nats = await connect({ servers: config.NATS_SERVERS });
    const harness = new ReconTestApp(
      isolation,
      config,
      app,
      request(app.getHttpServer()),
      admin,
      nats,
      new ReconEventPublisher(jetstream(nats), isolation.namespace),
    );
    if (options.custody !== undefined) {
      const custody = options.custody;
      await harness.events.custodyAccountOpened(custody);
      await eventually(
        async () => ((await harness.rows('SELECT 1 FROM custody_accounts WHERE account_id = $1', [custody.accountId])).length > 0 ? true : undefined),
        `custody account ${custody.accountId}`,
      );
    }
    return harness;
  }

  async rows<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.admin.query(sql, [...params])).rows as T[];
  }

  async one<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.rows<T>(sql, params))[0];
  }

  async count(sql: string, params: readonly unknown[] = []): Promise<number> {
    return Number((await this.rows<{ count: string }>(sql, params))[0]!.count);
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.nats.close();
    await this.admin.end();
    await this.isolation.cleanup();
  }
}
