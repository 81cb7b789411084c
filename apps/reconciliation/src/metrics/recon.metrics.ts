import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { JetStreamManager } from '@nats-io/jetstream';
import { type BatchObservableCallback, metrics, type Observable } from '@opentelemetry/api';
import type { PlatformConfig } from '@recon/config';
import { streamNameFor } from '@recon/messaging';
import { JETSTREAM_MANAGER, PLATFORM_CONFIG, TRANSACTIONS } from '@recon/platform';
import { queryRows, type TransactionRunner } from '@recon/persistence';
import { CONSUMERS } from '../matching/interface/recon.consumers';

/** Age buckets of open breaks, in days: what a review backlog dashboard shows. */
export const BREAK_AGE_BUCKETS_DAYS = [1, 3, 7, 30] as const;

function ageBucketOf(ageDays: number): string {
  for (const bound of BREAK_AGE_BUCKETS_DAYS) if (ageDays < bound) return `<${bound}d`;
  return `>=${BREAK_AGE_BUCKETS_DAYS[BREAK_AGE_BUCKETS_DAYS.length - 1]}d`;
}

/**
 * Observable gauges read at collection time: open breaks by type and age, pending items per side, the last run's
 * auto-match rate per account (all from Postgres), and the lag of the durable consumers (from JetStream).
 */
@Injectable()
export class ReconMetrics implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly meter = metrics.getMeter('reconciliation');
  private readonly openBreaks = this.meter.createObservableGauge('recon.breaks.open', { description: 'Open breaks by type and age bucket' });
  private readonly pendingItems = this.meter.createObservableGauge('recon.items.pending', { description: 'Unmatched items without a break, per side' });
  private readonly autoMatchRate = this.meter.createObservableGauge('recon.run.auto_match_rate', {
    description: 'Auto-match rate of the latest completed run per account (0..1)',
  });
  private readonly consumerLag = this.meter.createObservableGauge('recon.consumer.lag', {
    description: 'Messages not yet delivered to the durable consumer',
    unit: '{message}',
  });
  private readonly callback: BatchObservableCallback = (result) => this.collect(result);
  private readonly observables: Observable[] = [this.openBreaks, this.pendingItems, this.autoMatchRate, this.consumerLag];

  constructor(
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    @Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.meter.addBatchObservableCallback(this.callback, this.observables);
  }

  onApplicationShutdown(): void {
    this.meter.removeBatchObservableCallback(this.callback, this.observables);
  }

  private async collect(result: Parameters<BatchObservableCallback>[0]): Promise<void> {
    const snapshot = await this.db.transaction(async (executor) => ({
      breaks: await queryRows<{ type: string; age_days: number; count: string }>(
        executor,
        `SELECT type, floor(extract(epoch FROM now() - opened_at) / 86400)::int AS age_days, count(*)::text AS count FROM breaks WHERE closed_at IS NULL GROUP BY 1, 2`,
      ),
      pending: await queryRows<{ side: string; count: string }>(
        executor,
        `SELECT 'ledger' AS side, count(*)::text AS count FROM ledger_open_items JOIN ledger_items USING (entry_id) WHERE break_id IS NULL
         UNION ALL SELECT 'bank', count(*)::text FROM bank_open_items JOIN bank_items USING (item_ref) WHERE break_id IS NULL`,
      ),
      rates: await queryRows<{ bank_account: string; rate: string | null }>(
        executor,
        `SELECT DISTINCT ON (bank_account) bank_account, result->>'autoMatchRate' AS rate FROM runs
          WHERE status IN ('completed', 'completed_with_warnings') ORDER BY bank_account, finished_at DESC`,
      ),
    }));
    const byTypeAndAge = new Map<string, number>();
    for (const row of snapshot.breaks) {
      const key = `${row.type}|${ageBucketOf(row.age_days)}`;
      byTypeAndAge.set(key, (byTypeAndAge.get(key) ?? 0) + Number(row.count));
    }
    for (const [key, count] of byTypeAndAge) {
      const [type, age] = key.split('|');
      result.observe(this.openBreaks, count, { type, age });
    }
    for (const row of snapshot.pending) result.observe(this.pendingItems, Number(row.count), { side: row.side });
    for (const row of snapshot.rates) if (row.rate !== null) result.observe(this.autoMatchRate, Number(row.rate), { account: row.bank_account });
    for (const consumer of CONSUMERS) {
      try {
        const info = await this.jsm.consumers.info(streamNameFor(this.config.NATS_NAMESPACE, consumer.stream), consumer.durableName);
        result.observe(this.consumerLag, info.num_pending + info.num_ack_pending, { consumer: consumer.durableName });
      } catch {
        // Not created yet (consumers disabled, or the stream still provisioning): no observation rather than a false zero.
      }
    }
  }
}
