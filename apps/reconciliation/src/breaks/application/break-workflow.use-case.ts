import { Inject, Injectable } from '@nestjs/common';
import { type Actor, effectiveRole } from '@recon/auth';
import type { Role } from '@recon/config';
import { AuditRecorder, CLOCK, type Clock, ID_GENERATOR, type IdGenerator, TRANSACTIONS } from '@recon/platform';
import { queryRows, type SqlExecutor, type TransactionRunner } from '@recon/persistence';
import { BreakRecorder } from './break-recorder';

export const RESOLUTION_CODES = [
  'timing_difference',
  'bank_error',
  'ledger_error',
  'duplicate_confirmed',
  'written_off',
  'adjusted_in_ledger',
  'false_positive',
  'other',
] as const;
export type ResolutionCode = (typeof RESOLUTION_CODES)[number];

export type WorkflowErrorCode =
  | 'BREAK.NOT_FOUND'
  | 'BREAK.CLOSED'
  | 'ADJUSTMENT.NOT_FOUND'
  | 'ADJUSTMENT.NOT_PROPOSED'
  | 'ADJUSTMENT.FOUR_EYES'
  | 'ADJUSTMENT.CANCEL_FORBIDDEN'
  | 'ADJUSTMENT.POSTED'
  | 'ADJUSTMENT.POSTING_OUTCOME_UNKNOWN'
  | 'ADJUSTMENT.NOT_CANCELLABLE';

/** Who may cancel: a proposal its proposer, ops or an approver; an approved adjustment only an approver (admin passes every check). */
const CANCEL_PROPOSED_ROLES: readonly Role[] = ['ops', 'approver', 'admin'];
const CANCEL_APPROVED_ROLES: readonly Role[] = ['approver', 'admin'];
export const CANCEL_REASON_LENGTH_MAX = 2_000;

export class WorkflowError extends Error {
  constructor(
    readonly code: WorkflowErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WorkflowError';
  }
}

export interface AdjustmentTransaction {
  readonly kind: 'adjustment';
  readonly valueDate: string;
  readonly reference: string;
  readonly description?: string;
  readonly lines: readonly { readonly account: string; readonly side: 'debit' | 'credit'; readonly amount: string; readonly currency: string }[];
}

interface BreakStateRow {
  break_id: string;
  status: string;
  assignee: string | null;
  closed_at: Date | null;
}

/**
 * The review workflow of a break: assign, comment, resolve with a reason code, and adjustments that move money
 * under four eyes (proposed by one person with `ops`, approved by a different person with `approver`). Each step
 * writes its audit event in the same transaction as the change.
 */
@Injectable()
export class BreakWorkflowUseCase {
  constructor(
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    private readonly audit: AuditRecorder,
    private readonly breaks: BreakRecorder,
  ) {}

  async assign(actor: Actor, allowed: readonly Role[], breakId: string, assignee: string): Promise<void> {
    await this.db.transaction(async (executor) => {
      const before = await this.openBreak(executor, breakId);
      await executor.query(`UPDATE breaks SET assignee = $2, status = 'assigned' WHERE break_id = $1`, [breakId, assignee]);
      await this.audit.record(executor, {
        actor,
        role: effectiveRole(actor, allowed),
        action: 'break.assign',
        entity: { type: 'break', id: breakId },
        before: { assignee: before.assignee, status: before.status },
        after: { assignee, status: 'assigned' },
        details: { assignee },
      });
    });
  }

  async comment(actor: Actor, allowed: readonly Role[], breakId: string, body: string): Promise<string> {
    return this.db.transaction(async (executor) => {
      await this.existingBreak(executor, breakId);
      const commentId = this.ids.uuid();
      await executor.query('INSERT INTO break_comments (comment_id, break_id, author, body, created_at) VALUES ($1, $2, $3, $4, $5)', [
        commentId,
        breakId,
        actor.id,
        body,
        this.clock.now(),
      ]);
      await this.audit.record(executor, {
        actor,
        role: effectiveRole(actor, allowed),
        action: 'break.comment',
        entity: { type: 'break', id: breakId },
        after: { commentId, body },
        details: { commentId },
      });
      return commentId;
    });
  }

  async resolve(actor: Actor, allowed: readonly Role[], breakId: string, reasonCode: ResolutionCode, note: string | undefined): Promise<void> {
    await this.db.transaction(async (executor) => {
      await this.openBreak(executor, breakId);
      const role = effectiveRole(actor, allowed);
      await this.breaks.close(executor, breakId, {
        status: 'resolved',
        resolutionCode: reasonCode,
        note,
        actor,
        role: role === 'ops' || role === 'approver' || role === 'admin' ? role : 'service',
      });
    });
  }

  async proposeAdjustment(
    actor: Actor,
    allowed: readonly Role[],
    breakId: string,
    transaction: AdjustmentTransaction,
    reasonCode: ResolutionCode,
  ): Promise<string> {
    return this.db.transaction(async (executor) => {
      await this.openBreak(executor, breakId);
      const adjustmentId = this.ids.uuid();
      await executor.query(
        `INSERT INTO adjustments (adjustment_id, break_id, status, transaction, reason_code, proposed_by, proposed_at) VALUES ($1, $2, 'proposed', $3::jsonb, $4, $5, $6)`,
        [adjustmentId, breakId, JSON.stringify(transaction), reasonCode, actor.id, this.clock.now()],
      );
      await this.audit.record(executor, {
        actor,
        role: effectiveRole(actor, allowed),
        action: 'adjustment.propose',
        entity: { type: 'adjustment', id: adjustmentId },
        after: transaction,
        details: { breakId, reasonCode },
      });
      return adjustmentId;
    });
  }

  /**
   * Approves a proposed adjustment: never by the identity that proposed it, whatever roles it holds. The break is
   * resolved and the adjustment waits for posting to the ledger (the caller schedules it after commit).
   */
  async approveAdjustment(actor: Actor, allowed: readonly Role[], adjustmentId: string): Promise<{ breakId: string }> {
    return this.db.transaction(async (executor) => {
      const rows = await queryRows<{ break_id: string; status: string; proposed_by: string; reason_code: string }>(
        executor,
        'SELECT break_id, status, proposed_by, reason_code FROM adjustments WHERE adjustment_id = $1 FOR UPDATE',
        [adjustmentId],
      );
      const adjustment = rows[0];
      if (adjustment === undefined) throw new WorkflowError('ADJUSTMENT.NOT_FOUND', `no adjustment '${adjustmentId}'`);
      if (adjustment.status !== 'proposed')
        throw new WorkflowError('ADJUSTMENT.NOT_PROPOSED', `adjustment '${adjustmentId}' is ${adjustment.status}, not proposed`);
      if (adjustment.proposed_by === actor.id) {
        throw new WorkflowError('ADJUSTMENT.FOUR_EYES', `adjustment '${adjustmentId}' was proposed by ${actor.id}: a different person must approve it`);
      }
      const role = effectiveRole(actor, allowed);
      await executor.query(`UPDATE adjustments SET status = 'approved-pending-posting', approved_by = $2, approved_at = $3 WHERE adjustment_id = $1`, [
        adjustmentId,
        actor.id,
        this.clock.now(),
      ]);
      await this.audit.record(executor, {
        actor,
        role,
        action: 'adjustment.approve',
        entity: { type: 'adjustment', id: adjustmentId },
        before: { status: 'proposed' },
        after: { status: 'approved-pending-posting' },
        details: { breakId: adjustment.break_id, proposedBy: adjustment.proposed_by },
      });
      await this.breaks.close(executor, adjustment.break_id, {
        status: 'resolved',
        resolutionCode: 'adjusted_in_ledger',
        note: `adjustment ${adjustmentId} proposed by ${adjustment.proposed_by}, approved by ${actor.id}`,
        actor,
        role: role === 'approver' || role === 'admin' ? role : 'service',
      });
      return { breakId: adjustment.break_id };
    });
  }

  /**
   * Cancels an adjustment that will not be posted: a proposal (by its proposer, ops or an approver), or an approved
   * one (approver or admin) for which no posting attempt has started, or whose posting the ledger refused outright
   * (then it holds nothing under the adjustment's Idempotency-Key). Never a posted one, nor one with a posting attempt
   * whose outcome is unknown (the ledger may hold it). The row lock orders it against the posting worker's claim:
   * exactly one of them wins. A break resolved by the cancelled approval is open again, so that a new resolution can
   * be proposed. Idempotent: cancelling a cancelled adjustment changes and records nothing.
   */
  async cancelAdjustment(actor: Actor, adjustmentId: string, reason: string): Promise<{ breakId: string; cancelled: boolean }> {
    return this.db.transaction(async (executor) => {
      const rows = await queryRows<{
        break_id: string;
        status: string;
        proposed_by: string;
        post_attempts: number;
        ledger_refused_at: Date | null;
        last_error: string | null;
        ledger_transaction_id: string | null;
      }>(
        executor,
        `SELECT break_id, status, proposed_by, post_attempts, ledger_refused_at, last_error, ledger_transaction_id
           FROM adjustments WHERE adjustment_id = $1 FOR UPDATE`,
        [adjustmentId],
      );
      const adjustment = rows[0];
      if (adjustment === undefined) throw new WorkflowError('ADJUSTMENT.NOT_FOUND', `no adjustment '${adjustmentId}'`);
      if (adjustment.status === 'cancelled') return { breakId: adjustment.break_id, cancelled: false };
      if (adjustment.status === 'posted') {
        throw new WorkflowError(
          'ADJUSTMENT.POSTED',
          `adjustment '${adjustmentId}' was posted to the ledger (transaction ${adjustment.ledger_transaction_id ?? '?'}): it cannot be cancelled; propose a reversing adjustment instead`,
        );
      }
      let allowed: readonly Role[];
      if (adjustment.status === 'proposed') {
        allowed = CANCEL_PROPOSED_ROLES;
        if (adjustment.proposed_by !== actor.id && effectiveRole(actor, allowed) === undefined) {
          throw new WorkflowError(
            'ADJUSTMENT.CANCEL_FORBIDDEN',
            `adjustment '${adjustmentId}' is proposed: only its proposer, ops or an approver may cancel it`,
          );
        }
      } else if (adjustment.status === 'approved-pending-posting') {
        allowed = CANCEL_APPROVED_ROLES;
        if (effectiveRole(actor, allowed) === undefined) {
          throw new WorkflowError('ADJUSTMENT.CANCEL_FORBIDDEN', `adjustment '${adjustmentId}' is approved: only an approver or admin may cancel it`);
        }
        if (adjustment.post_attempts > 0 && adjustment.ledger_refused_at === null) {
          throw new WorkflowError(
            'ADJUSTMENT.POSTING_OUTCOME_UNKNOWN',
            `adjustment '${adjustmentId}' is being posted to the ledger (${adjustment.post_attempts} attempt(s)${adjustment.last_error === null ? '' : `, last error: ${adjustment.last_error.slice(0, 300)}`}): the ledger may hold it, so it can be cancelled only once the ledger has refused it`,
          );
        }
      } else {
        throw new WorkflowError(
          'ADJUSTMENT.NOT_CANCELLABLE',
          `adjustment '${adjustmentId}' is ${adjustment.status}: only proposed or approved, unposted adjustments can be cancelled`,
        );
      }
      const role = effectiveRole(actor, allowed) ?? 'ops';
      const now = this.clock.now();
      await executor.query(`UPDATE adjustments SET status = 'cancelled', cancelled_at = $2, cancelled_by = $3, cancel_reason = $4 WHERE adjustment_id = $1`, [
        adjustmentId,
        now,
        actor.id,
        reason,
      ]);
      const breakReopened =
        adjustment.status === 'approved-pending-posting' && (await this.reopenAfterCancelledApproval(executor, adjustment.break_id, adjustmentId, actor, role));
      await this.audit.record(executor, {
        actor,
        role,
        action: 'adjustment.cancel',
        entity: { type: 'adjustment', id: adjustmentId },
        before: { status: adjustment.status },
        after: { status: 'cancelled' },
        details: {
          breakId: adjustment.break_id,
          reason: reason.slice(0, 500),
          proposedBy: adjustment.proposed_by,
          postAttempts: adjustment.post_attempts,
          ...(adjustment.ledger_refused_at === null ? {} : { ledgerRefusedAt: adjustment.ledger_refused_at.toISOString() }),
          breakReopened,
        },
      });
      return { breakId: adjustment.break_id, cancelled: true };
    });
  }

  /**
   * The approval resolved the break (`adjusted_in_ledger`); with the adjustment cancelled the difference is there
   * again, unless another approved or posted adjustment of the same break still resolves it.
   */
  private async reopenAfterCancelledApproval(executor: SqlExecutor, breakId: string, adjustmentId: string, actor: Actor, role: Role): Promise<boolean> {
    const status = await this.breaks.reopen(executor, breakId, {
      from: { status: 'resolved', resolutionCode: 'adjusted_in_ledger' },
      unlessStillAdjustedBesides: adjustmentId,
      actor,
      role,
      reason: `adjustment ${adjustmentId} cancelled`,
    });
    return status !== undefined;
  }

  private async existingBreak(executor: SqlExecutor, breakId: string): Promise<BreakStateRow> {
    const rows = await queryRows<BreakStateRow>(executor, 'SELECT break_id, status, assignee, closed_at FROM breaks WHERE break_id = $1 FOR UPDATE', [breakId]);
    const row = rows[0];
    if (row === undefined) throw new WorkflowError('BREAK.NOT_FOUND', `no break '${breakId}'`);
    return row;
  }

  private async openBreak(executor: SqlExecutor, breakId: string): Promise<BreakStateRow> {
    const row = await this.existingBreak(executor, breakId);
    if (row.closed_at !== null) throw new WorkflowError('BREAK.CLOSED', `break '${breakId}' is already ${row.status}`);
    return row;
  }
}
