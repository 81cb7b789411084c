import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Actor } from '@recon/auth';
import { BREAK_ITEMS_MAX, REASON_LENGTH_MAX, RECON_ALERT_RAISED_V1, RECON_BREAK_CLOSED_V1, RECON_BREAK_OPENED_V1 } from '@recon/contracts';
import type { ReconBreak } from '@recon/matching';
import { enqueueEvent } from '@recon/messaging';
import { minorDigitsOf, parseDecimalToMinor } from '@recon/money';
import { AuditRecorder, CLOCK, type Clock, ID_GENERATOR, type IdGenerator } from '@recon/platform';
import { queryRows, type SqlExecutor } from '@recon/persistence';

/** The service acting on its own (continuous matching, runs): how it appears in breaks and audit events. */
export const SERVICE_ACTOR: Actor = { id: 'reconciliation', roles: ['service'] };

export interface BreakContext {
  readonly bankAccount: string;
  readonly businessDate: string;
  readonly runId?: string;
}

/**
 * The key that makes re-running a day idempotent: the same difference (account, date, type, items) found
 * again is the same break. Item breaks take their items' value date, so a pending item found again on a later
 * day is still the same break; statement-level breaks take the business day.
 */
export function breakKeyOf(found: ReconBreak, context: BreakContext): string {
  const date = found.valueDate ?? context.businessDate;
  const parts = [
    context.bankAccount,
    date,
    found.type,
    [...found.ledger].sort().join(','),
    [...found.bank].sort().join(','),
    found.statementId ?? '',
    found.findingKind ?? '',
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** A critical misappropriation finding needs a person now, not at the next review. */
function alertKindOf(found: ReconBreak): string | undefined {
  if (found.severity !== 'critical') return undefined;
  if (found.type === 'balance_mismatch') return 'shortfall';
  if (found.type === 'unauthorized_debit') return 'unauthorized_debit';
  return undefined;
}

/**
 * Opens and closes breaks, each with its outgoing event and audit event in the caller's transaction.
 */
@Injectable()
export class BreakRecorder {
  constructor(
    private readonly audit: AuditRecorder,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  /** Opens the break unless the same one exists; returns its id when it was new. */
  async open(executor: SqlExecutor, found: ReconBreak, context: BreakContext): Promise<string | undefined> {
    const breakId = this.ids.uuid();
    const now = this.clock.now();
    const amountMinor = parseDecimalToMinor(found.amount, minorDigitsOf(found.currency), {});
    const date = found.valueDate ?? context.businessDate;
    const inserted = await queryRows<{ break_id: string }>(
      executor,
      `INSERT INTO breaks (break_id, break_key, type, category, severity, currency, amount, amount_minor, bank_account, business_date,
                           ledger_ids, bank_ids, reason, explanation, status, run_id, opened_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::text[], $12::text[], $13, $14::jsonb, 'open', $15, $16)
       ON CONFLICT (break_key) DO NOTHING
       RETURNING break_id`,
      [
        breakId,
        breakKeyOf(found, context),
        found.type,
        found.category,
        found.severity,
        found.currency,
        found.amount,
        amountMinor.toString(),
        context.bankAccount,
        date,
        found.ledger,
        found.bank,
        found.reason.slice(0, 2_000),
        JSON.stringify(found),
        context.runId ?? null,
        now,
      ],
    );
    if (inserted.length === 0) return undefined;
    const superseded = await queryRows<{ break_id: string }>(
      executor,
      `WITH previous AS (
         SELECT break_id FROM ledger_items WHERE entry_id = ANY($1::text[]) AND break_id IS NOT NULL
         UNION SELECT break_id FROM bank_items WHERE item_ref = ANY($2::text[]) AND break_id IS NOT NULL)
       SELECT b.break_id FROM breaks b JOIN previous p ON p.break_id = b.break_id WHERE b.closed_at IS NULL`,
      [found.ledger, found.bank],
    );
    await executor.query('UPDATE ledger_items SET break_id = $2 WHERE entry_id = ANY($1::text[])', [found.ledger, breakId]);
    await executor.query('UPDATE bank_items SET break_id = $2 WHERE item_ref = ANY($1::text[])', [found.bank, breakId]);
    for (const row of superseded) {
      await this.close(executor, row.break_id, {
        status: 'closed',
        resolutionCode: 'superseded',
        note: `the same items are now in break ${breakId} (${found.type})`,
        actor: SERVICE_ACTOR,
      });
    }
    await enqueueEvent(executor, {
      messageId: this.ids.uuid(),
      subject: RECON_BREAK_OPENED_V1.subject,
      schemaVersion: RECON_BREAK_OPENED_V1.schemaVersion,
      payload: {
        breakId,
        ...(context.runId === undefined ? {} : { runId: context.runId }),
        openedAt: now.toISOString(),
        businessDate: date,
        account: context.bankAccount,
        type: found.type,
        category: found.category,
        severity: found.severity,
        currency: found.currency,
        amount: found.amount,
        // A batch break may name more items than an event carries; the break itself (API, database) keeps them all.
        ledger: found.ledger.slice(0, BREAK_ITEMS_MAX),
        bank: found.bank.slice(0, BREAK_ITEMS_MAX),
        reason: found.reason.slice(0, REASON_LENGTH_MAX),
      },
    });
    await this.audit.record(executor, {
      actor: SERVICE_ACTOR,
      role: 'service',
      action: 'break.open',
      entity: { type: 'break', id: breakId },
      after: found,
      details: {
        type: found.type,
        severity: found.severity,
        account: context.bankAccount,
        businessDate: date,
        ...(context.runId === undefined ? {} : { runId: context.runId }),
      },
    });
    const alertKind = alertKindOf(found);
    if (alertKind !== undefined) {
      await enqueueEvent(executor, {
        messageId: this.ids.uuid(),
        subject: RECON_ALERT_RAISED_V1.subject,
        schemaVersion: RECON_ALERT_RAISED_V1.schemaVersion,
        payload: {
          alertId: this.ids.uuid(),
          raisedAt: now.toISOString(),
          kind: alertKind,
          severity: found.severity,
          account: context.bankAccount,
          currency: found.currency,
          amount: found.amount,
          businessDate: date,
          message: found.reason.slice(0, 2_000),
          breakIds: [breakId],
        },
      });
    }
    return breakId;
  }

  /** Takes an open break out of the open set; a break already closed stays as it is (returns false). */
  async close(
    executor: SqlExecutor,
    breakId: string,
    closing: {
      status: 'resolved' | 'closed';
      resolutionCode: string;
      note?: string;
      actor: Actor;
      role?: 'ops' | 'approver' | 'service' | 'admin';
      matchId?: string;
    },
  ): Promise<boolean> {
    const now = this.clock.now();
    const rows = await queryRows<{ break_id: string; status: string }>(
      executor,
      `UPDATE breaks SET status = $2, closed_at = $3, resolution_code = $4, resolution_note = $5, resolved_by = $6
        WHERE break_id = $1 AND closed_at IS NULL RETURNING break_id, status`,
      [breakId, closing.status, now, closing.resolutionCode, closing.note?.slice(0, 2_000) ?? null, closing.actor.id],
    );
    if (rows.length === 0) return false;
    await enqueueEvent(executor, {
      messageId: this.ids.uuid(),
      subject: RECON_BREAK_CLOSED_V1.subject,
      schemaVersion: RECON_BREAK_CLOSED_V1.schemaVersion,
      payload: {
        breakId,
        closedAt: now.toISOString(),
        status: closing.status,
        resolutionCode: closing.resolutionCode,
        closedBy: closing.actor.id,
        ...(closing.note === undefined ? {} : { note: closing.note.slice(0, 2_000) }),
        ...(closing.matchId === undefined ? {} : { matchId: closing.matchId }),
      },
    });
    await this.audit.record(executor, {
      actor: closing.actor,
      role: closing.role ?? 'service',
      action: closing.status === 'resolved' ? 'break.resolve' : 'break.close',
      entity: { type: 'break', id: breakId },
      details: {
        resolutionCode: closing.resolutionCode,
        ...(closing.note === undefined ? {} : { note: closing.note.slice(0, 500) }),
        ...(closing.matchId === undefined ? {} : { matchId: closing.matchId }),
      },
    });
    return true;
  }
}
