import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { AuthGuard, CREDENTIAL_VERIFIER, StaticKeyVerifier } from '@recon/auth';
import type { PlatformConfig } from '@recon/config';
import { ensureStreams, OutboxRelay } from '@recon/messaging';
import { createLogger, type Logger, type Telemetry } from '@recon/observability';
import { createDataSource, transactionRunnerOf } from '@recon/persistence';
import { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { AuditRecorder } from './audit-recorder';
import { CLOCK, ID_GENERATOR, systemClock, uuidV7Generator } from './clock';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { DATA_SOURCE, JETSTREAM, JETSTREAM_MANAGER, LOGGER, NATS_CONNECTION, PLATFORM_CONFIG, REDIS, TELEMETRY, TRANSACTIONS } from './tokens';

const NATS_RECONNECT_ATTEMPTS_MAX = -1; // keep reconnecting: a service without its broker is not ready, not dead
const NATS_RECONNECT_WAIT_MS = 1_000;

export interface PlatformOptions {
  readonly config: PlatformConfig;
  readonly telemetry: Telemetry;
  readonly usesRedis: boolean;
  /** Set false in tests that drive the relay by hand. */
  readonly runOutboxRelay?: boolean;
}

/**
 * Starts the outbox relay once the application is up and stops it, then the connections, on shutdown:
 * in that order, so that the last batch is published before the broker connection closes.
 */
@Injectable()
class PlatformLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private relay: OutboxRelay | undefined;

  constructor(
    @Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig,
    @Inject('PLATFORM_OPTIONS') private readonly options: PlatformOptions,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(REDIS) private readonly redis?: Redis,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await ensureStreams(this.jsm, this.config.NATS_NAMESPACE);
    if (this.options.runOutboxRelay === false) return;
    this.relay = new OutboxRelay({
      transactions: transactionRunnerOf(this.dataSource),
      listenConnectionString: this.config.DATABASE_URL,
      nats: this.nats,
      namespace: this.config.NATS_NAMESPACE,
      pollIntervalMs: this.config.OUTBOX_POLL_INTERVAL_MS,
      batchSize: this.config.OUTBOX_BATCH_SIZE,
      logger: this.logger,
    });
    this.relay.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay?.stop();
    await this.nats.drain().catch(() => undefined);
    await this.redis?.quit().catch(() => undefined);
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

@Global()
@Module({})
export class PlatformModule {
  static forService(options: PlatformOptions): DynamicModule {
    const { config } = options;
    const providers: Provider[] = [
      { provide: 'PLATFORM_OPTIONS', useValue: options },
      { provide: PLATFORM_CONFIG, useValue: config },
      { provide: TELEMETRY, useValue: options.telemetry },
      { provide: LOGGER, useFactory: () => createLogger(config.serviceName, config.LOG_LEVEL) },
      { provide: CLOCK, useValue: systemClock },
      { provide: ID_GENERATOR, useValue: uuidV7Generator },
      { provide: CREDENTIAL_VERIFIER, useFactory: () => new StaticKeyVerifier(config.API_KEYS) },
      { provide: APP_GUARD, useClass: AuthGuard },
      {
        provide: DATA_SOURCE,
        useFactory: async () =>
          createDataSource({
            url: config.DATABASE_URL,
            schema: config.DATABASE_SCHEMA,
            poolSizeMax: config.DATABASE_POOL_SIZE_MAX,
            applicationName: config.serviceName,
          }).initialize(),
      },
      { provide: TRANSACTIONS, inject: [DATA_SOURCE], useFactory: (dataSource: DataSource) => transactionRunnerOf(dataSource) },
      {
        provide: NATS_CONNECTION,
        useFactory: () =>
          connect({
            servers: config.NATS_SERVERS,
            name: config.serviceName,
            maxReconnectAttempts: NATS_RECONNECT_ATTEMPTS_MAX,
            reconnectTimeWait: NATS_RECONNECT_WAIT_MS,
          }),
      },
      { provide: JETSTREAM, inject: [NATS_CONNECTION], useFactory: (nats: NatsConnection) => jetstream(nats) },
      { provide: JETSTREAM_MANAGER, inject: [NATS_CONNECTION], useFactory: (nats: NatsConnection) => jetstreamManager(nats) },
      AuditRecorder,
      PlatformLifecycle,
    ];
    const exported: (symbol | typeof AuditRecorder)[] = [
      PLATFORM_CONFIG,
      TELEMETRY,
      LOGGER,
      CLOCK,
      ID_GENERATOR,
      DATA_SOURCE,
      TRANSACTIONS,
      NATS_CONNECTION,
      JETSTREAM,
      JETSTREAM_MANAGER,
      AuditRecorder,
    ];
    if (options.usesRedis) {
      providers.push({
        provide: REDIS,
        useFactory: () => new Redis(config.REDIS_URL, { keyPrefix: config.REDIS_KEY_PREFIX, maxRetriesPerRequest: null, lazyConnect: false }),
      });
      exported.push(REDIS);
    }
    return {
      module: PlatformModule,
      global: true,
      controllers: [HealthController, MetricsController],
      providers,
      exports: exported,
    };
  }
}
