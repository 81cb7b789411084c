import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { PlatformConfig } from '@recon/config';
import type { Logger } from '@recon/observability';
import { CLOCK, type Clock, LOGGER, PLATFORM_CONFIG, TRANSACTIONS } from '@recon/platform';
import { queryRows, type TransactionRunner } from '@recon/persistence';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { PostAdjustmentUseCase } from '../../breaks/application/post-adjustment.use-case';
import { BankLineWithdrawals } from '../../corrections/bank-line-withdrawals';
import { SERVICE_ACTOR } from '../../breaks/application/break-recorder';
import type { ReconciliationSettings } from '../../reconciliation.config';
import { type AccountSettings, accountSettingsOf, allAccountSettings, cronOfCutOff, RECONCILIATION_SETTINGS } from '../application/account-settings';
import { RunBusinessDayUseCase } from '../application/run-business-day.use-case';
import { businessDateAt, businessDateClosedAt } from '../domain/business-day';
import { isLedgerRefusal } from './ledger.http.client';

export const RECON_QUEUE_NAME = 'reconciliation';
/** Jobs of one kind worked at once per instance: runs lock their account, so a few in parallel is plenty. */
export const RECON_WORKER_CONCURRENCY = 4;
export const COMPLETED_JOBS_KEPT = 1_000;
export const FAILED_JOBS_KEPT = 5_000;

type ReconJob = { kind: 'nightly'; bankAccount: string } | { kind: 'sweep' } | { kind: 'retractions' } | { kind: 'post-adjustment'; adjustmentId: string };

/**
 * The service's BullMQ jobs: one repeatable nightly run per custody account at its cut-off in its own time zone
 * (`upsertJobScheduler` with a cron pattern and `tz`), the grace sweep, and the retried posting of approved
 * adjustments. Keys live under REDIS_KEY_PREFIX, so instances of different deployments never share a queue.
 */
@Injectable()
export class ReconJobs implements OnApplicationBootstrap, OnApplicationShutdown {
  private queue: Queue | undefined;
  private worker: Worker | undefined;
  private readonly connections: Redis[] = [];

  constructor(
    @Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig,
    @Inject(RECONCILIATION_SETTINGS) private readonly settings: ReconciliationSettings,
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly runs: RunBusinessDayUseCase,
    private readonly postAdjustment: PostAdjustmentUseCase,
    private readonly withdrawals: BankLineWithdrawals,
  ) {}

  /** BullMQ adds its own ':' separators and refuses ioredis key prefixes: the prefix goes in its `prefix` option. */
  private get prefix(): string {
    return this.config.REDIS_KEY_PREFIX.replace(/:+$/, '') || 'recon';
  }

  private connection(): Redis {
    const connection = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null });
    this.connections.push(connection);
    return connection;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.queue = new Queue(RECON_QUEUE_NAME, { connection: this.connection(), prefix: this.prefix });
    if (!this.settings.schedulerEnabled) return;
    this.worker = new Worker(RECON_QUEUE_NAME, (job: Job<ReconJob>) => this.work(job), {
      connection: this.connection(),
      prefix: this.prefix,
      concurrency: RECON_WORKER_CONCURRENCY,
    });
    this.worker.on('failed', (job, error) => this.logger.warn({ jobId: job?.id, name: job?.name, error: error.message }, 'reconciliation job failed'));
    for (const account of await this.db.transaction((executor) => allAccountSettings(executor, this.settings))) await this.scheduleNightly(account);
    await this.queue.upsertJobScheduler(
      'sweep',
      { every: this.settings.pendingSweepIntervalMs },
      { name: 'sweep', data: { kind: 'sweep' }, opts: { removeOnComplete: COMPLETED_JOBS_KEPT, removeOnFail: FAILED_JOBS_KEPT } },
    );
    // Retractions that overtook their lines: withdrawn soon after the lines arrive, not only at the next run.
    await this.queue.upsertJobScheduler(
      'retractions',
      { every: this.settings.retractionSweepIntervalMs },
      { name: 'retractions', data: { kind: 'retractions' }, opts: { removeOnComplete: COMPLETED_JOBS_KEPT, removeOnFail: FAILED_JOBS_KEPT } },
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    await this.queue?.close();
    await Promise.all(this.connections.map((connection) => connection.quit().catch(() => undefined)));
  }

  /** (Re)schedules an account's nightly run at its cut-off; idempotent, so every instance may call it at boot. */
  async scheduleNightly(account: AccountSettings): Promise<void> {
    if (this.queue === undefined || !this.settings.schedulerEnabled) return;
    await this.queue.upsertJobScheduler(
      `nightly:${account.bankAccount}`,
      { pattern: cronOfCutOff(account.cutOff), tz: account.timeZone },
      {
        name: 'nightly',
        data: { kind: 'nightly', bankAccount: account.bankAccount },
        opts: { removeOnComplete: COMPLETED_JOBS_KEPT, removeOnFail: FAILED_JOBS_KEPT },
      },
    );
  }

  /** Posts an approved adjustment in the background, retrying with back-off while the ledger is unreachable. */
  async enqueueAdjustmentPosting(adjustmentId: string): Promise<void> {
    await this.queue?.add(
      'post-adjustment',
      { kind: 'post-adjustment', adjustmentId },
      {
        jobId: `post-adjustment-${adjustmentId}`,
        attempts: this.settings.adjustmentPostAttemptsMax,
        backoff: { type: 'exponential', delay: this.settings.adjustmentRetryBaseMs },
        removeOnComplete: COMPLETED_JOBS_KEPT,
        removeOnFail: FAILED_JOBS_KEPT,
      },
    );
  }

  private async work(job: Job<ReconJob>): Promise<unknown> {
    const data = job.data;
    switch (data.kind) {
      case 'nightly': {
        const account = await this.db.transaction((executor) => accountSettingsOf(executor, data.bankAccount, this.settings));
        // The job fires at the cut-off: the business day it closes is that day's date in the account's time zone, or the
        // day before for a cut-off after midnight that closes the previous day.
        const businessDate = businessDateClosedAt(nightlySlotOf(job), account);
        return this.runs.execute({ bankAccount: data.bankAccount, businessDate, trigger: 'schedule', actor: SERVICE_ACTOR, checks: true });
      }
      case 'sweep':
        return this.sweep();
      case 'retractions':
        return this.withdrawals.applyArrivedEverywhere();
      case 'post-adjustment':
        try {
          // A cancelled adjustment ends its job here ('cancelled'): nothing is posted, nothing retried.
          return await this.postAdjustment.execute(data.adjustmentId);
        } catch (error) {
          // The ledger refusing the transaction itself will not change by retrying: stop, and leave the adjustment
          // approved-pending-posting with the ledger's answer for a person (who may cancel it).
          if (isLedgerRefusal(error)) throw new UnrecoverableError(error.message);
          throw error;
        }
    }
  }

  /** Ages pending items between nightly runs: accounts with open items get a matching-only run for today. */
  private async sweep(): Promise<string[]> {
    const accounts = await this.db.transaction((executor) =>
      queryRows<{ bank_account: string }>(
        executor,
        `SELECT DISTINCT o.bank_account FROM ledger_open_items o JOIN ledger_items USING (entry_id) WHERE break_id IS NULL
         UNION SELECT DISTINCT o.bank_account FROM bank_open_items o JOIN bank_items USING (item_ref) WHERE break_id IS NULL`,
      ),
    );
    const settings = await this.db.transaction((executor) => allAccountSettings(executor, this.settings));
    const runIds: string[] = [];
    for (const { bank_account: bankAccount } of accounts) {
      const account =
        settings.find((item) => item.bankAccount === bankAccount) ??
        (await this.db.transaction((executor) => accountSettingsOf(executor, bankAccount, this.settings)));
      runIds.push(
        await this.runs.execute({
          bankAccount,
          // The day in progress, as the nightly run sees it: for a cut-off after midnight the previous day until then.
          businessDate: businessDateAt(this.clock.now(), account),
          trigger: 'sweep',
          actor: SERVICE_ACTOR,
          checks: false,
        }),
      );
    }
    return runIds;
  }
}

/**
 * The slot a scheduler's job was created for. BullMQ creates it ahead of time, delayed until the slot, and keeps the
 * slot in `opts.prevMillis`; `timestamp + delay` says the same until the job is promoted (then delay is 0), so it is
 * only the fallback for jobs created without a scheduler.
 */
export function nightlySlotOf(job: Pick<Job, 'opts' | 'timestamp' | 'delay'>): Date {
  const slotMs = job.opts.prevMillis;
  return new Date(typeof slotMs === 'number' && slotMs > 0 ? slotMs : job.timestamp + (job.delay ?? 0));
}
