import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { PlatformConfig } from '@recon/config';
import { LOGGER, PLATFORM_CONFIG, TRANSACTIONS } from '@recon/platform';
import type { Logger } from '@recon/observability';
import type { TransactionRunner } from '@recon/persistence';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { GatewaySettings } from '../../bank-gateway.config';
import { GATEWAY_SETTINGS } from '../../bank-gateway.tokens';
import { findConnections } from '../../connections/application/connection.queries';
import type { ConnectionSavedListener } from '../../connections/application/save-connection.use-case';
import type { ConnectionView } from '../../connections/domain/connection';
import { PullConnectionUseCase, type PullOutcome } from './pull-connection.use-case';

export const PULL_QUEUE_NAME = 'bank-gateway-pull';
const PULL_JOB_NAME = 'pull';
/** Finished jobs kept for inspection; older ones are removed so Redis does not grow without bound. */
const JOBS_KEPT_MAX = 1_000;

interface PullJobData {
  readonly connectionId: string;
}

export function schedulerIdOf(connectionId: string): string {
  return `pull:${connectionId}`;
}

/**
 * Scheduled pulls on BullMQ: one job scheduler per connection with a schedule (cron + time zone), retried with
 * exponential back-off. BullMQ lets exactly one instance run each tick's job however many gateways run, and a
 * run that fails is retried; files fetched are remembered in Postgres, so a retried or overlapping run takes
 * nothing twice. Keys live under REDIS_KEY_PREFIX (BullMQ's own `prefix`; it refuses ioredis' keyPrefix).
 */
@Injectable()
export class PullScheduler implements ConnectionSavedListener, OnApplicationBootstrap, OnApplicationShutdown {
  private queue: Queue<PullJobData, PullOutcome> | undefined;
  private worker: Worker<PullJobData, PullOutcome> | undefined;
  private readonly connections: Redis[] = [];

  constructor(
    @Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly pull: PullConnectionUseCase,
  ) {}

  private get prefix(): string {
    return `${this.config.REDIS_KEY_PREFIX}bull`;
  }

  private redis(): Redis {
    const connection = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null });
    this.connections.push(connection);
    return connection;
  }

  private queueOf(): Queue<PullJobData, PullOutcome> {
    this.queue ??= new Queue<PullJobData, PullOutcome>(PULL_QUEUE_NAME, { connection: this.redis(), prefix: this.prefix });
    return this.queue;
  }

  private get jobOptions() {
    return {
      attempts: this.settings.pullAttemptsMax,
      backoff: { type: 'exponential' as const, delay: this.settings.pullBackoffMs },
      removeOnComplete: JOBS_KEPT_MAX,
      removeOnFail: JOBS_KEPT_MAX,
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.settings.pullEnabled) return;
    this.worker = new Worker<PullJobData, PullOutcome>(PULL_QUEUE_NAME, (job: Job<PullJobData>) => this.pull.execute(job.data.connectionId), {
      connection: this.redis(),
      prefix: this.prefix,
      concurrency: 1,
    });
    this.worker.on('failed', (job, error) =>
      this.logger.warn({ connectionId: job?.data.connectionId, attempt: job?.attemptsMade, err: error }, 'bank pull failed'),
    );
    this.worker.on('error', (error) => this.logger.error({ err: error }, 'bank pull worker error'));
    const connections = await this.db.transaction((executor) => findConnections(executor, 'ORDER BY name', []));
    for (const connection of connections) await this.connectionSaved(connection);
  }

  /** Plans (or removes) the connection's repeatable pull to match its schedule. */
  async connectionSaved(connection: ConnectionView): Promise<void> {
    if (!this.settings.pullEnabled) return;
    const queue = this.queueOf();
    if (connection.schedule === undefined || connection.transport.kind === 'upload') {
      await queue.removeJobScheduler(schedulerIdOf(connection.connectionId));
      return;
    }
    await queue.upsertJobScheduler(
      schedulerIdOf(connection.connectionId),
      { pattern: connection.schedule.cron, tz: connection.schedule.timeZone },
      { name: PULL_JOB_NAME, data: { connectionId: connection.connectionId }, opts: this.jobOptions },
    );
  }

  /** A one-off pull now, through the same queue (and retries) as the schedule. */
  async pullNow(connectionId: string): Promise<string> {
    const job = await this.queueOf().add(PULL_JOB_NAME, { connectionId }, this.jobOptions);
    return job.id ?? '';
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    await this.queue?.close();
    await Promise.all(this.connections.map((connection) => connection.quit().catch(() => undefined)));
  }
}
