import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { PlatformConfig } from '@recon/config';
import type { AuditEventRecordedV1 } from '@recon/contracts';
import { ensureStreams, InboxConsumer } from '@recon/messaging';
import type { Logger } from '@recon/observability';
import type { TransactionRunner } from '@recon/persistence';
import { CLOCK, type Clock, JETSTREAM, JETSTREAM_MANAGER, LOGGER, PLATFORM_CONFIG, TRANSACTIONS } from '@recon/platform';
import type { AuditSettings } from '../../audit.config';
import { AUDIT_SETTINGS } from '../../audit.tokens';
import { AppendAuditEventUseCase } from '../application/append-audit-event.use-case';
import { CheckpointSigner } from '../application/checkpoint-signer';
import { VerifyLogHeadUseCase } from '../application/verify-log-head.use-case';
import { AuditLogPgRepository } from '../infrastructure/audit-log.pg.repository';

/** Shared by every instance: the AUDIT stream is a work queue, and this one durable consumer drains it. */
export const AUDIT_LOG_DURABLE_NAME = 'audit-log';
/**
 * Events appended per transaction (the inbox consumer's batch mode): one head lock, one statement for all their
 * records and Merkle nodes. The consumer keeps reading the pull while a batch is appended, so a slow batch no
 * longer lets the client end the pull (which, with one transaction per event, forced batches of 5).
 */
export const AUDIT_CONSUMER_BATCH_SIZE = 200;
/** How often the timer looks for records waiting for a checkpoint, as a fraction of AUDIT_CHECKPOINT_EVERY_MS. */
const CHECKPOINT_TIMER_DIVISOR = 4;
const CHECKPOINT_TIMER_MS_MIN = 25;

export interface AuditConsumerOptions {
  /** Set false in tests that append by hand. */
  readonly runConsumer?: boolean;
}
export const AUDIT_CONSUMER_OPTIONS = Symbol('AUDIT_CONSUMER_OPTIONS');

/**
 * Consumes every `audit.*` event exactly once (inbox + one transaction per batch of events, in stream order; the
 * head lock serialises instances anyway) and signs a checkpoint when records have waited
 * AUDIT_CHECKPOINT_EVERY_MS without one.
 */
@Injectable()
export class AuditEventsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer: InboxConsumer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> = Promise.resolve();

  constructor(
    private readonly append: AppendAuditEventUseCase,
    private readonly checkpoints: CheckpointSigner,
    private readonly verifyHead: VerifyLogHeadUseCase,
    private readonly repository: AuditLogPgRepository,
    @Inject(AUDIT_SETTINGS) private readonly settings: AuditSettings,
    @Inject(AUDIT_CONSUMER_OPTIONS) private readonly options: AuditConsumerOptions,
    @Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig,
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    @Inject(JETSTREAM) private readonly jetstream: JetStreamClient,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  get stats() {
    return this.consumer?.stats;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.runConsumer === false) return;
    const { treeSize } = await this.db.transaction((executor) => this.verifyHead.execute(executor));
    if (this.settings.usesDevelopmentKey) {
      this.logger.warn({ key: this.settings.signingVerifierKeys[0] }, 'audit checkpoints are signed with the INSECURE development key; set AUDIT_SIGNING_KEY');
    }
    this.logger.info({ treeSize, origin: this.settings.origin }, 'audit log head verified');
    // The platform provisions the streams too; doing it here as well keeps start-up order irrelevant.
    await ensureStreams(this.jsm, this.config.NATS_NAMESPACE);
    this.consumer = new InboxConsumer({
      jetstream: this.jetstream,
      jsm: this.jsm,
      namespace: this.config.NATS_NAMESPACE,
      stream: 'AUDIT',
      durableName: AUDIT_LOG_DURABLE_NAME,
      transaction: this.db,
      batchSize: AUDIT_CONSUMER_BATCH_SIZE,
      logger: this.logger,
      // In stream order, under the head lock: a failed batch is appended again one event at a time.
      batchHandler: async (events, executor) => {
        await this.append.executeBatch(
          executor,
          events.map((event) => ({ messageId: event.messageId, subject: event.subject, payload: event.payload as AuditEventRecordedV1 })),
        );
      },
    });
    await this.consumer.start();
    const periodMs = Math.max(CHECKPOINT_TIMER_MS_MIN, Math.floor(this.settings.checkpointEveryMs / CHECKPOINT_TIMER_DIVISOR));
    this.timer = setInterval(() => {
      this.tick = this.tick
        .then(() => this.signIfWaiting())
        .catch((error: unknown) => this.logger.error({ error: String(error) }, 'audit checkpoint timer failed'));
    }, periodMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.tick;
    await this.consumer?.stop();
  }

  /** Signs the head when its oldest unsigned record has waited AUDIT_CHECKPOINT_EVERY_MS. */
  async signIfWaiting(): Promise<void> {
    const now = this.clock.now();
    const due = await this.db.transaction(async (executor) => {
      const head = await this.repository.readHead(executor);
      const latestSize = (await this.repository.latestCheckpoint(executor))?.treeSize ?? 0;
      if (head.treeSize <= latestSize) return false;
      const oldestUnsignedAt = await this.repository.appendedAtOf(executor, latestSize);
      return oldestUnsignedAt !== undefined && now.getTime() - oldestUnsignedAt.getTime() >= this.settings.checkpointEveryMs;
    });
    if (!due) return;
    const signed = await this.db.transaction((executor) => this.checkpoints.signHead(executor, now));
    if (signed !== undefined) this.logger.debug({ treeSize: signed.treeSize }, 'audit checkpoint signed (timer)');
  }
}
