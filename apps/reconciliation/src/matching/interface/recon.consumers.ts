import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { PlatformConfig } from '@recon/config';
import { InboxBatchGroup, InboxConsumer, type StreamKey } from '@recon/messaging';
import type { Logger } from '@recon/observability';
import { DATA_SOURCE, JETSTREAM, JETSTREAM_MANAGER, LOGGER, PLATFORM_CONFIG } from '@recon/platform';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { RECONCILIATION_SETTINGS } from '../../runs/application/account-settings';
import type { ReconciliationSettings } from '../../reconciliation.config';
import { EventSubjects, type LedgerAccountOpenedV1 } from '@recon/contracts';
import { accountSettingsOf } from '../../runs/application/account-settings';
import { ReconJobs } from '../../runs/infrastructure/recon-jobs';
import { ContinuousMatcher } from '../application/continuous-matcher';

export const CONSUMERS: readonly { readonly durableName: string; readonly stream: StreamKey }[] = [
  { durableName: 'reconciliation-ledger', stream: 'LEDGER' },
  { durableName: 'reconciliation-bank', stream: 'BANK' },
];
export const CONSUMER_MAX_DELIVER = 20;
export const CONSUMER_RETRY_BASE_MS = 200;
/**
 * Messages handled in one transaction (batch mode): the consumer hands over what has arrived, up to this many, so
 * a quiet stream makes batches of one and a busy one fills them while the previous batch commits.
 */
export const CONSUMER_BATCH_SIZE = 250;

/** The durable JetStream consumers of continuous matching (shared by every instance: JetStream spreads the load). */
@Injectable()
export class ReconConsumers implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly consumers: InboxConsumer[] = [];

  constructor(
    @Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig,
    @Inject(RECONCILIATION_SETTINGS) private readonly settings: ReconciliationSettings,
    @Inject(JETSTREAM) private readonly jetstream: JetStreamClient,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly matcher: ContinuousMatcher,
    private readonly jobs: ReconJobs,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.settings.consumersEnabled) return;
    // The data source's own pg pool (same connections, same search_path): plain BEGIN/COMMIT costs less than a
    // TypeORM query runner.
    const pool = (this.dataSource.driver as unknown as { master: Pool }).master;
    // The ledger and the bank consumer lock the same match keys (an entry and its line arrive together): in
    // transactions of their own, each would wait for the other's commit. Sharing them, neither waits, and a
    // line finds its entry of the same moment in the same transaction.
    const batchGroup = new InboxBatchGroup(pool);
    for (const definition of CONSUMERS) {
      const consumer = new InboxConsumer({
        jetstream: this.jetstream,
        jsm: this.jsm,
        namespace: this.config.NATS_NAMESPACE,
        stream: definition.stream,
        durableName: definition.durableName,
        transaction: pool,
        // One transaction per batch: items are inserted, given their candidates and matched set-wise (ContinuousMatcher).
        batchHandler: async (events, executor) => {
          await this.matcher.handleBatch(events, executor);
          for (const event of events) {
            const account = event.payload as LedgerAccountOpenedV1;
            if (event.subject === EventSubjects.ledgerAccountOpened && account.accountKind === 'custody' && account.bankAccount !== undefined) {
              // Idempotent: a redelivery (or a rolled-back batch handled again) re-upserts the same schedule.
              await this.jobs.scheduleNightly(await accountSettingsOf(executor, account.bankAccount, this.settings));
            }
          }
        },
        batchGroup,
        batchSize: CONSUMER_BATCH_SIZE,
        maxDeliver: CONSUMER_MAX_DELIVER,
        retryBaseMs: CONSUMER_RETRY_BASE_MS,
        logger: this.logger,
      });
      this.consumers.push(consumer);
    }
    // PlatformLifecycle provisions the streams in its own bootstrap hook; wait until they exist.
    await Promise.all(this.consumers.map((consumer) => startWhenStreamExists(consumer)));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.stop()));
  }
}

const STREAM_WAIT_ATTEMPTS_MAX = 50;
const STREAM_WAIT_MS = 100;

/** Starts a consumer once its stream exists: PlatformLifecycle provisions the streams in its own bootstrap hook. */
export async function startWhenStreamExists(consumer: InboxConsumer): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await consumer.start();
      return;
    } catch (error) {
      if (attempt >= STREAM_WAIT_ATTEMPTS_MAX) throw error;
      await new Promise((resolve) => setTimeout(resolve, STREAM_WAIT_MS));
    }
  }
}
