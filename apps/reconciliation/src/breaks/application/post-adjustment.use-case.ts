import { Inject, Injectable } from '@nestjs/common';
import { AuditRecorder, CLOCK, type Clock, TRANSACTIONS } from '@recon/platform';
import { queryRows, type TransactionRunner } from '@recon/persistence';
import { LEDGER_HTTP_CLIENT } from '../../runs/application/run-business-day.use-case';
import { isLedgerRefusal, type LedgerHttpClient } from '../../runs/infrastructure/ledger.http.client';
import { SERVICE_ACTOR } from './break-recorder';

/** The Idempotency-Key of an adjustment's ledger transaction: retries after a lost reply never post twice. */
export function adjustmentIdempotencyKey(adjustmentId: string): string {
  return `recon-adjustment-${adjustmentId}`;
}

/** What one posting attempt found: only `posted` and `already-posted` leave the ledger holding the transaction. */
export type PostAdjustmentOutcome = 'posted' | 'already-posted' | 'cancelled';

/**
 * Posts an approved adjustment to the ledger. When the ledger cannot be reached or refuses, the adjustment stays
 * `approved-pending-posting` with the error recorded, and this throws so that the BullMQ job retries (or stops, for a
 * refusal).
 *
 * Cancel vs posting: an attempt first claims the adjustment in its own short transaction, under the row lock that
 * cancelling takes too, and only then calls the ledger. Whichever locks the row first wins: an attempt that comes
 * after a cancel finds `cancelled` and posts nothing; a cancel that comes after a claim finds an attempt whose
 * outcome is not known yet and is refused until the ledger has refused the adjustment (see break-workflow).
 */
@Injectable()
export class PostAdjustmentUseCase {
  constructor(
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    @Inject(LEDGER_HTTP_CLIENT) private readonly ledger: LedgerHttpClient,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly audit: AuditRecorder,
  ) {}

  async execute(adjustmentId: string): Promise<PostAdjustmentOutcome> {
    const claim = await this.db.transaction(async (executor) => {
      const rows = await queryRows<{ status: string; transaction: unknown }>(
        executor,
        'SELECT status, transaction FROM adjustments WHERE adjustment_id = $1 FOR UPDATE',
        [adjustmentId],
      );
      const adjustment = rows[0];
      if (adjustment === undefined) throw new Error(`no adjustment '${adjustmentId}'`);
      if (adjustment.status === 'posted') return 'already-posted' as const;
      if (adjustment.status === 'cancelled') return 'cancelled' as const;
      if (adjustment.status !== 'approved-pending-posting')
        throw new Error(`adjustment '${adjustmentId}' is ${adjustment.status}: only approved adjustments are posted`);
      // The attempt counts from here: until its outcome is recorded, the ledger may hold the transaction.
      await executor.query('UPDATE adjustments SET post_attempts = post_attempts + 1, ledger_refused_at = NULL WHERE adjustment_id = $1', [adjustmentId]);
      return { transaction: adjustment.transaction };
    });
    if (typeof claim === 'string') return claim;
    let transactionId: string;
    try {
      ({ transactionId } = await this.ledger.postTransaction(adjustmentIdempotencyKey(adjustmentId), claim.transaction));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await this.db.transaction((executor) =>
        executor.query(`UPDATE adjustments SET last_error = $2, ledger_refused_at = $3 WHERE adjustment_id = $1 AND status = 'approved-pending-posting'`, [
          adjustmentId,
          message.slice(0, 2_000),
          isLedgerRefusal(error) ? this.clock.now() : null,
        ]),
      );
      throw error;
    }
    return this.db.transaction(async (executor) => {
      const updated = await queryRows<{ adjustment_id: string }>(
        executor,
        `UPDATE adjustments SET status = 'posted', posted_at = $2, ledger_transaction_id = $3, last_error = NULL, ledger_refused_at = NULL
          WHERE adjustment_id = $1 AND status = 'approved-pending-posting' RETURNING adjustment_id`,
        [adjustmentId, this.clock.now(), transactionId],
      );
      // Never cancelled meanwhile (the claimed attempt stops a cancel): another attempt recorded the same transaction.
      if (updated.length === 0) return 'already-posted';
      await this.audit.record(executor, {
        actor: SERVICE_ACTOR,
        role: 'service',
        action: 'adjustment.post',
        entity: { type: 'adjustment', id: adjustmentId },
        details: { ledgerTransactionId: transactionId },
      });
      return 'posted';
    });
  }
}
