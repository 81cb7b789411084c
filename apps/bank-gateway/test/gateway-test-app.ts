import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { PlatformConfig } from '@recon/config';
import { startMetricsOnlyTelemetry, type Telemetry } from '@recon/observability';
import { isolate, TEST_ADMIN_URL, type TestIsolation } from '@recon/testing';
import { Client } from 'pg';
import request from 'supertest';
import { createBankGatewayApp, migrateBankGateway } from '../src/bank-gateway.app';
import { loadBankGatewayConfig, loadGatewaySettings } from '../src/bank-gateway.config';

export interface GatewayTestAppOptions {
  /** Variables besides the isolation's (GATEWAY_* settings and platform ones alike). */
  readonly env?: Readonly<Record<string, string>>;
  /** What `secret:env:NAME` references of connections resolve to. */
  readonly secretEnvironment?: Readonly<Record<string, string>>;
}

/**
 * The bank gateway in process for a medium suite, over the real Postgres, NATS and Redis, in an isolated schema,
 * stream namespace and key prefix: its HTTP API (supertest), an admin connection, and NATS with its JetStream
 * manager (to read what the gateway published). `close` removes everything it made.
 */
export class GatewayTestApp {
  private constructor(
    readonly isolation: TestIsolation,
    readonly config: PlatformConfig,
    readonly app: NestExpressApplication,
    readonly http: ReturnType<typeof request>,
    readonly admin: Client,
    readonly nats: NatsConnection,
    readonly jsm: JetStreamManager,
    private readonly telemetry: Telemetry,
  ) {}

  static async start(options: GatewayTestAppOptions = {}): Promise<GatewayTestApp> {
    const isolation = isolate('bank-gateway');
    const env = isolation.env({ ...options.env });
    const config = loadBankGatewayConfig(env);
    await migrateBankGateway(config);
    const telemetry = startMetricsOnlyTelemetry();
    const app = await createBankGatewayApp(config, telemetry, {
      settings: loadGatewaySettings(env),
      ...(options.secretEnvironment === undefined ? {} : { secretEnvironment: options.secretEnvironment }),
    });
    await app.init();
    const admin = new Client({ connectionString: TEST_ADMIN_URL });
    await admin.connect();
    const nats = await connect({ servers: config.NATS_SERVERS });
    return new GatewayTestApp(isolation, config, app, request(app.getHttpServer()), admin, nats, await jetstreamManager(nats), telemetry);
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.nats.close();
    await this.admin.end();
    await this.isolation.cleanup();
    await this.telemetry.shutdown();
  }
}
