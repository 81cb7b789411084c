import { Inject, Injectable } from '@nestjs/common';
import { AuditRecorder, CLOCK, type Clock, TRANSACTIONS } from '@recon/platform';
import { queryRows, type TransactionRunner } from '@recon/persistence';
import { LEDGER_HTTP_CLIENT } from '../../runs/application/run-business-day.use-case';
import type { LedgerHttpClient } from '../../runs/infrastructure/ledger.http.client';
import { SERVICE_ACTOR } from './break-recorder';

/** The Idempotency-Key of an adjustment's ledger transaction: retries after a lost reply never post twice. */
export function adjustmentIdempotencyKey(adjustmentId: string): string {
  return `recon-adjustment-${adjustmentId}`;
}

/**
 * Posts an approved adjustment to the ledger. When the ledger cannot be reached the adjustment stays
 * `approved-pending-posting` with the error recorded, and this throws so that the BullMQ job retries.
 */
@Injectable()
export class PostAdjustmentUseCase {
  constructor(
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    @Inject(LEDGER_HTTP_CLIENT) private readonly ledger: LedgerHttpClient,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly audit: AuditRecorder,
  ) {}

  async execute(adjustmentId: string): Promise<'posted' | 'already-posted'> {
    const rows = await this.db.transaction((executor) =>
      queryRows<{ status: string; transaction: unknown }>(executor, 'SELECT status, transaction FROM adjustments WHERE adjustment_id = $1', [adjustmentId]),
    );
    const adjustment = rows[0];
    if (adjustment === undefined) throw new Error(`no adjustment '${adjustmentId}'`);
    if (adjustment.status === 'posted') return 'already-posted';
    if (adjustment.status !== 'approved-pending-posting')
      throw new Error(`adjustment '${adjustmentId}' is ${adjustment.status}: only approved adjustments are posted`);
    let transactionId: string;
    try {
      ({ transactionId } = await this.ledger.postTransaction(adjustmentIdempotencyKey(adjustmentId), adjustment.transaction));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await this.db.transaction((executor) =>
        executor.query('UPDATE adjustments SET post_attempts = post_attempts + 1, last_error = $2 WHERE adjustment_id = $1', [
          adjustmentId,
          message.slice(0, 2_000),
        ]),
      );
      throw error;
    }
    await this.db.transaction(async (executor) => {
      await executor.query(
        `UPDATE adjustments SET status = 'posted', posted_at = $2, ledger_transaction_id = $3, post_attempts = post_attempts + 1, last_error = NULL WHERE adjustment_id = $1`,
        [adjustmentId, this.clock.now(), transactionId],
      );
      await this.audit.record(executor, {
        actor: SERVICE_ACTOR,
        role: 'service',
        action: 'adjustment.post',
        entity: { type: 'adjustment', id: adjustmentId },
        details: { ledgerTransactionId: transactionId },
      });
    });
    return 'posted';
  }
}
