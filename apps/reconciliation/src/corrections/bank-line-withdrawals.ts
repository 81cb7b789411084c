import { Inject, Injectable } from '@nestjs/common';
import { AuditRecorder, CLOCK, type Clock, ID_GENERATOR, type IdGenerator, TRANSACTIONS } from '@recon/platform';
import { queryRows, type SqlExecutor, type TransactionRunner } from '@recon/persistence';
import { BreakRecorder, SERVICE_ACTOR } from '../breaks/application/break-recorder';
import { lockRunOf } from '../items/infrastructure/items.pg.repository';

/** The rule name of the pseudo-match that takes a withdrawn bank line out of the open set. */
export const WITHDRAWN_RULE = 'withdrawn';
export const WITHDRAWN_RESOLUTION = 'withdrawn';
/** Line ids listed in one audit event (the count is always complete). */
const AUDITED_IDS_MAX = 100;
/** Tombstones applied per statement: a pass takes this many arrived lines at a time until none are left. */
export const TOMBSTONES_PER_PASS_MAX = 5_000;

/** What a bank.line.retracted says about the lines it withdraws (kept whole in a tombstone until they arrive). */
export interface RetractionFacts {
  readonly findingId: string;
  readonly fileId: string;
  readonly account: string;
  readonly statementId: string;
  readonly part: number;
  readonly replacedByFileId: string | undefined;
  readonly reason: string;
  readonly retractedBy: string;
  readonly retractedAt: string;
}

interface WithdrawnItemRow {
  line_id: string;
  item_ref: string;
  match_id: string | null;
  match_rule: string | null;
  break_id: string | null;
  withdrawn: boolean;
}

interface TombstoneRow {
  line_id: string;
  finding_id: string;
  file_id: string;
  bank_account: string;
  statement_id: string;
  part: number;
  replaced_by_file_id: string | null;
  reason: string;
  retracted_by: string;
  retracted_at: Date;
}

/**
 * After a break was closed because some of its bank lines left the open set (`leaving`): its other items are
 * differences still, pending again, and a run or the sweep opens their own break.
 */
export async function releaseOtherItemsOfBreak(executor: SqlExecutor, breakId: string, leaving: readonly string[]): Promise<void> {
  await executor.query('UPDATE ledger_items l SET break_id = NULL FROM ledger_open_items o WHERE l.break_id = $1 AND o.entry_id = l.entry_id', [breakId]);
  await executor.query(
    'UPDATE bank_items b SET break_id = NULL FROM bank_open_items o WHERE b.break_id = $1 AND o.item_ref = b.item_ref AND NOT (b.line_id = ANY($2::uuid[]))',
    [breakId, leaving],
  );
}

/**
 * Withdrawing bank lines the gateway retracted, now or once they arrive.
 *
 * A retraction names lines by id; on another durable consumer than the lines themselves it may be handled first.
 * Then it leaves a tombstone per line not here yet (`bank_line_retractions`) and is acknowledged: nothing is retried,
 * nothing dead-lettered. A line that arrives later is stored and handled by continuous matching like any other (no
 * look-up is added to that path); the tombstone is applied by the retractions job every
 * RECON_RETRACTION_SWEEP_INTERVAL_MS and, whatever that job did, by every run of the account (nightly, API, grace
 * sweep) before it matches or opens a break. Applying it is exactly the withdrawal the retraction would have done
 * had the line been here: a match the line entered meanwhile is undone (its partners pending again), and the line
 * leaves the open set through a `withdrawn` match — so it never becomes a break, and ends matched to nothing.
 *
 * Nothing is applied twice: a tombstone is taken FOR UPDATE and marked applied in the transaction that withdraws its
 * line, the line's row is locked and checked against `bank_line_withdrawals` (primary key: one withdrawal per line),
 * and the inbox makes a redelivered retraction a no-op. Nothing is lost: the tombstone commits with the retraction's
 * inbox row, and the line's insert and the tombstone meet in whichever transaction comes later (job or run), which
 * sees both.
 */
@Injectable()
export class BankLineWithdrawals {
  constructor(
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    private readonly breaks: BreakRecorder,
    private readonly audit: AuditRecorder,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  /**
   * Withdraws the named lines that are here (each once) and returns the ids found; the caller decides what to do
   * about the others. `deferred`: applied from a tombstone, after the line arrived.
   */
  async withdraw(executor: SqlExecutor, retraction: RetractionFacts, lineIds: readonly string[], deferred: boolean): Promise<Set<string>> {
    const now = this.clock.now();
    // The open rows first (continuous matching deletes them as it matches): a line being matched now is seen matched below.
    await executor.query(
      'SELECT o.item_ref FROM bank_open_items o JOIN bank_items b USING (item_ref) WHERE b.line_id = ANY($1::uuid[]) ORDER BY o.item_ref FOR UPDATE OF o',
      [lineIds],
    );
    const items = await queryRows<WithdrawnItemRow>(
      executor,
      `SELECT b.line_id::text, b.item_ref, x.match_id::text, m.rule AS match_rule, b.break_id::text, (w.line_id IS NOT NULL) AS withdrawn
         FROM bank_items b LEFT JOIN bank_item_matches x ON x.item_ref = b.item_ref LEFT JOIN matches m ON m.match_id = x.match_id
              LEFT JOIN bank_line_withdrawals w ON w.line_id = b.line_id
        WHERE b.line_id = ANY($1::uuid[]) ORDER BY b.line_id FOR UPDATE OF b`,
      [lineIds],
    );
    const found = new Set(items.map((item) => item.line_id));
    const pending = items.filter((item) => !item.withdrawn);
    if (pending.length === 0) return found;
    const note = `retracted by gateway finding ${retraction.findingId} (${retraction.retractedBy}): ${retraction.reason}`.slice(0, 2_000);
    const undone = new Map<string, string>();
    const closedBreaks = new Map<string, string>();
    const retractedIds = pending.map((item) => item.line_id);
    for (const matchId of new Set(pending.filter((item) => item.match_id !== null && item.match_rule !== WITHDRAWN_RULE).map((item) => item.match_id!))) {
      await this.undoMatch(executor, matchId, retractedIds, note, now);
      for (const item of pending) if (item.match_id === matchId) undone.set(item.line_id, matchId);
    }
    for (const breakId of new Set(pending.filter((item) => item.break_id !== null).map((item) => item.break_id!))) {
      const closed = await this.breaks.close(executor, breakId, { status: 'closed', resolutionCode: WITHDRAWN_RESOLUTION, note, actor: SERVICE_ACTOR });
      if (!closed) continue;
      for (const item of pending) if (item.break_id === breakId) closedBreaks.set(item.line_id, breakId);
      await releaseOtherItemsOfBreak(executor, breakId, retractedIds);
    }
    const withdrawalId = this.ids.uuid();
    await executor.query(
      `WITH recorded AS (INSERT INTO matches (match_id, rule, ledger_ids, bank_ids, matched_at) VALUES ($1, $2, '{}'::text[], $3::text[], $4) RETURNING match_id),
       closed AS (DELETE FROM bank_open_items WHERE item_ref = ANY($3::text[]) AND EXISTS (SELECT 1 FROM recorded))
       INSERT INTO bank_item_matches (item_ref, match_id) SELECT item_ref, $1 FROM bank_items WHERE line_id = ANY($5::uuid[]) AND EXISTS (SELECT 1 FROM recorded)`,
      [withdrawalId, WITHDRAWN_RULE, pending.map((item) => item.item_ref), now, retractedIds],
    );
    await executor.query(
      `INSERT INTO bank_line_withdrawals (line_id, item_ref, finding_id, file_id, replaced_by_file_id, reason, retracted_by, retracted_at, undone_match_id,
                                          withdrawal_match_id, closed_break_id, withdrawn_at)
       SELECT t.line_id, t.item_ref, $3, $4, $5, $6, $7, $8, t.undone, $9, t.closed, $10
         FROM unnest($1::uuid[], $2::text[], $11::uuid[], $12::uuid[]) AS t (line_id, item_ref, undone, closed)`,
      [
        retractedIds,
        pending.map((item) => item.item_ref),
        retraction.findingId,
        retraction.fileId,
        retraction.replacedByFileId ?? null,
        retraction.reason,
        retraction.retractedBy,
        retraction.retractedAt,
        withdrawalId,
        now,
        pending.map((item) => undone.get(item.line_id) ?? null),
        pending.map((item) => closedBreaks.get(item.line_id) ?? null),
      ],
    );
    await this.audit.record(executor, {
      actor: SERVICE_ACTOR,
      role: 'service',
      action: 'bank-line.withdraw',
      entity: { type: 'gateway_finding', id: retraction.findingId },
      details: {
        findingId: retraction.findingId,
        fileId: retraction.fileId,
        statementId: retraction.statementId,
        part: retraction.part,
        count: pending.length,
        itemRefs: pending.slice(0, AUDITED_IDS_MAX).map((item) => item.item_ref),
        undoneMatches: [...new Set(undone.values())].slice(0, AUDITED_IDS_MAX),
        closedBreaks: [...new Set(closedBreaks.values())].slice(0, AUDITED_IDS_MAX),
        retractedBy: retraction.retractedBy,
        reason: retraction.reason.slice(0, 500),
        deferred,
      },
    });
    return found;
  }

  /** Records a tombstone per line not received yet (a repeated retraction adds nothing) and audits it. */
  async recordTombstones(executor: SqlExecutor, retraction: RetractionFacts, lineIds: readonly string[]): Promise<void> {
    const recorded = await queryRows<{ line_id: string }>(
      executor,
      `INSERT INTO bank_line_retractions (line_id, bank_account, finding_id, file_id, statement_id, part, replaced_by_file_id, reason, retracted_by,
                                          retracted_at, recorded_at)
       SELECT line_id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM unnest($1::uuid[]) AS t (line_id)
       ON CONFLICT (line_id) DO NOTHING RETURNING line_id::text`,
      [
        lineIds,
        retraction.account,
        retraction.findingId,
        retraction.fileId,
        retraction.statementId,
        retraction.part,
        retraction.replacedByFileId ?? null,
        retraction.reason,
        retraction.retractedBy,
        retraction.retractedAt,
        this.clock.now(),
      ],
    );
    if (recorded.length === 0) return;
    await this.audit.record(executor, {
      actor: SERVICE_ACTOR,
      role: 'service',
      action: 'bank-line.withdraw-deferred',
      entity: { type: 'gateway_finding', id: retraction.findingId },
      details: {
        findingId: retraction.findingId,
        fileId: retraction.fileId,
        statementId: retraction.statementId,
        part: retraction.part,
        count: recorded.length,
        lineIds: recorded.slice(0, AUDITED_IDS_MAX).map((row) => row.line_id),
      },
    });
  }

  /** The retracted statement no longer counts for continuity and completeness: the accepted one arrives as a new statement. */
  async retireStatement(executor: SqlExecutor, fileId: string, statementId: string, findingId: string): Promise<void> {
    await executor.query(
      `WITH gone AS (DELETE FROM statements WHERE statement_key = $1 RETURNING *)
       INSERT INTO retracted_statements (statement_key, finding_id, statement, retracted_at) SELECT statement_key, $2, to_jsonb(gone), $3 FROM gone
       ON CONFLICT (statement_key) DO NOTHING`,
      [`${fileId}:${statementId}`, findingId, this.clock.now()],
    );
  }

  /**
   * Applies the tombstones of an account whose lines have arrived, in the caller's transaction (which holds the
   * account's run lock): the lines are withdrawn, the tombstones marked applied. Returns the number applied.
   */
  async applyArrived(executor: SqlExecutor, bankAccount: string): Promise<number> {
    let applied = 0;
    for (;;) {
      const tombstones = await queryRows<TombstoneRow>(
        executor,
        `SELECT r.line_id::text, r.finding_id, r.file_id, r.bank_account, r.statement_id, r.part, r.replaced_by_file_id, r.reason, r.retracted_by, r.retracted_at
           FROM bank_line_retractions r
          WHERE r.applied_at IS NULL AND r.bank_account = $1 AND EXISTS (SELECT 1 FROM bank_items b WHERE b.line_id = r.line_id)
          ORDER BY r.line_id LIMIT ${TOMBSTONES_PER_PASS_MAX} FOR UPDATE OF r`,
        [bankAccount],
      );
      const groups = new Map<string, TombstoneRow[]>();
      for (const row of tombstones) {
        const key = `${row.finding_id}\u0000${row.file_id}\u0000${row.statement_id}\u0000${row.part}`;
        groups.set(key, [...(groups.get(key) ?? []), row]);
      }
      for (const rows of groups.values()) {
        const first = rows[0]!;
        const facts: RetractionFacts = {
          findingId: first.finding_id,
          fileId: first.file_id,
          account: first.bank_account,
          statementId: first.statement_id,
          part: first.part,
          replacedByFileId: first.replaced_by_file_id ?? undefined,
          reason: first.reason,
          retractedBy: first.retracted_by,
          retractedAt: first.retracted_at.toISOString(),
        };
        await this.withdraw(
          executor,
          facts,
          rows.map((row) => row.line_id),
          true,
        );
        // Its statement may have arrived after the retraction too.
        await this.retireStatement(executor, first.file_id, first.statement_id, first.finding_id);
      }
      if (tombstones.length > 0) {
        await executor.query('UPDATE bank_line_retractions SET applied_at = $2 WHERE line_id = ANY($1::uuid[])', [
          tombstones.map((row) => row.line_id),
          this.clock.now(),
        ]);
      }
      applied += tombstones.length;
      if (tombstones.length < TOMBSTONES_PER_PASS_MAX) return applied;
    }
  }

  /** The retractions job: every account with arrived tombstones, each in its own transaction under its run lock. */
  async applyArrivedEverywhere(): Promise<number> {
    const accounts = await this.db.transaction((executor) =>
      queryRows<{ bank_account: string }>(
        executor,
        `SELECT DISTINCT r.bank_account FROM bank_line_retractions r
          WHERE r.applied_at IS NULL AND EXISTS (SELECT 1 FROM bank_items b WHERE b.line_id = r.line_id) ORDER BY r.bank_account`,
      ),
    );
    let applied = 0;
    for (const { bank_account: bankAccount } of accounts) {
      applied += await this.db.transaction(async (executor) => {
        await lockRunOf(executor, bankAccount);
        return this.applyArrived(executor, bankAccount);
      });
    }
    return applied;
  }

  /** Undoes a match of a withdrawn line: its other items are open again, with the reason recorded on the match. */
  private async undoMatch(executor: SqlExecutor, matchId: string, retractedIds: readonly string[], note: string, now: Date): Promise<void> {
    const [match] = await queryRows<{ rule: string; ledger_ids: string[]; bank_ids: string[] }>(
      executor,
      'UPDATE matches SET undone_at = $2, undo_reason = $3 WHERE match_id = $1 AND undone_at IS NULL RETURNING rule, ledger_ids, bank_ids',
      [matchId, now, note],
    );
    if (match === undefined) return;
    // Its items leave the match; all but the withdrawn lines are open again (migration 0012's reopen functions).
    const ledger = await queryRows<{ entry_id: string; break_id: string | null }>(
      executor,
      `WITH left_match AS (DELETE FROM ledger_item_matches WHERE entry_id = ANY($2::text[]) AND match_id = $1 RETURNING entry_id)
       SELECT l.entry_id, l.break_id::text FROM left_match JOIN ledger_items l USING (entry_id)`,
      [matchId, match.ledger_ids],
    );
    const bank = await queryRows<{ item_ref: string; break_id: string | null }>(
      executor,
      `WITH left_match AS (DELETE FROM bank_item_matches WHERE item_ref = ANY($2::text[]) AND match_id = $1 RETURNING item_ref)
       SELECT b.item_ref, b.break_id::text FROM left_match JOIN bank_items b USING (item_ref) WHERE NOT (b.line_id = ANY($3::uuid[]))`,
      [matchId, match.bank_ids, retractedIds],
    );
    await executor.query('SELECT reopen_ledger_items($1::text[]), reopen_bank_items($2::text[])', [
      ledger.map((row) => row.entry_id),
      bank.map((row) => row.item_ref),
    ]);
    const freed = [...ledger, ...bank];
    await this.audit.record(executor, {
      actor: SERVICE_ACTOR,
      role: 'service',
      action: 'match.undo',
      entity: { type: 'match', id: matchId },
      details: {
        rule: match.rule,
        ledger: match.ledger_ids.slice(0, AUDITED_IDS_MAX),
        bank: match.bank_ids.slice(0, AUDITED_IDS_MAX),
        reason: note.slice(0, 500),
      },
    });
    // A break this match had closed as a late partner is a difference again.
    for (const breakId of new Set(freed.map((row) => row.break_id).filter((id): id is string => id !== null))) {
      await this.reopenLatePartnerBreak(executor, breakId, note);
    }
  }

  private async reopenLatePartnerBreak(executor: SqlExecutor, breakId: string, note: string): Promise<void> {
    await this.breaks.reopen(executor, breakId, {
      from: { status: 'closed', resolutionCode: 'late_partner' },
      actor: SERVICE_ACTOR,
      role: 'service',
      reason: note,
    });
  }
}
