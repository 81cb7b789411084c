import { queryRows, type SqlExecutor } from '@recon/persistence';

export const BREAKS_PAGE_SIZE_MAX = 100;

export interface BreakFilter {
  readonly type?: string;
  readonly category?: string;
  readonly status?: string;
  readonly severity?: string;
  readonly account?: string;
  readonly currency?: string;
  readonly amountMinMinor?: bigint;
  readonly amountMaxMinor?: bigint;
  /** Age in whole days since the break was opened, at the instant `now`. */
  readonly ageDaysMin?: number;
  readonly ageDaysMax?: number;
  readonly cursor?: string;
  readonly limit: number;
  readonly now: Date;
}

interface BreakRow {
  break_id: string;
  type: string;
  category: string;
  severity: string;
  currency: string;
  amount: string;
  bank_account: string;
  business_date: string;
  ledger_ids: string[];
  bank_ids: string[];
  reason: string;
  explanation: Record<string, unknown>;
  status: string;
  assignee: string | null;
  run_id: string | null;
  opened_at: Date;
  closed_at: Date | null;
  resolution_code: string | null;
  resolution_note: string | null;
  resolved_by: string | null;
}

const BREAK_COLUMNS = `break_id, type, category, severity, currency, amount, bank_account, to_char(business_date, 'YYYY-MM-DD') AS business_date, ledger_ids, bank_ids,
  reason, explanation, status, assignee, run_id, opened_at, closed_at, resolution_code, resolution_note, resolved_by`;

/** Break reads for the review console: filters, cursor pagination, and both sides of every break in full. */
export class BreaksQuery {
  async page(executor: SqlExecutor, filter: BreakFilter): Promise<{ breaks: unknown[]; nextCursor: string | null }> {
    const dayMs = 86_400_000;
    const rows = await queryRows<BreakRow>(
      executor,
      `SELECT ${BREAK_COLUMNS} FROM breaks
        WHERE ($1::text IS NULL OR type = $1) AND ($2::text IS NULL OR category = $2) AND ($3::text IS NULL OR status = $3)
          AND ($4::text IS NULL OR severity = $4) AND ($5::text IS NULL OR bank_account = $5) AND ($6::text IS NULL OR currency = $6)
          AND ($7::numeric IS NULL OR amount_minor >= $7) AND ($8::numeric IS NULL OR amount_minor <= $8)
          AND ($9::timestamptz IS NULL OR opened_at <= $9) AND ($10::timestamptz IS NULL OR opened_at > $10)
          AND ($11::uuid IS NULL OR break_id < $11)
        ORDER BY break_id DESC
        LIMIT $12`,
      [
        filter.type ?? null,
        filter.category ?? null,
        filter.status ?? null,
        filter.severity ?? null,
        filter.account ?? null,
        filter.currency ?? null,
        filter.amountMinMinor?.toString() ?? null,
        filter.amountMaxMinor?.toString() ?? null,
        filter.ageDaysMin === undefined ? null : new Date(filter.now.getTime() - filter.ageDaysMin * dayMs),
        filter.ageDaysMax === undefined ? null : new Date(filter.now.getTime() - (filter.ageDaysMax + 1) * dayMs),
        filter.cursor ?? null,
        filter.limit + 1,
      ],
    );
    const page = rows.slice(0, filter.limit);
    const views = await this.views(executor, page, filter.now);
    return { breaks: views, nextCursor: rows.length > filter.limit ? (page[page.length - 1]?.break_id ?? null) : null };
  }

  async one(executor: SqlExecutor, breakId: string, now: Date): Promise<Record<string, unknown> | undefined> {
    const rows = await queryRows<BreakRow>(executor, `SELECT ${BREAK_COLUMNS} FROM breaks WHERE break_id = $1`, [breakId]);
    if (rows.length === 0) return undefined;
    const [view] = await this.views(executor, rows, now);
    const comments = await queryRows<{ comment_id: string; author: string; body: string; created_at: Date }>(
      executor,
      'SELECT comment_id, author, body, created_at FROM break_comments WHERE break_id = $1 ORDER BY created_at, comment_id',
      [breakId],
    );
    const adjustments = await queryRows<AdjustmentRow>(executor, `SELECT ${ADJUSTMENT_COLUMNS} FROM adjustments WHERE break_id = $1 ORDER BY proposed_at`, [
      breakId,
    ]);
    return {
      ...view,
      comments: comments.map((row) => ({ commentId: row.comment_id, author: row.author, body: row.body, createdAt: row.created_at.toISOString() })),
      adjustments: adjustments.map(adjustmentView),
    };
  }

  async adjustment(executor: SqlExecutor, adjustmentId: string): Promise<ReturnType<typeof adjustmentView> | undefined> {
    const rows = await queryRows<AdjustmentRow>(executor, `SELECT ${ADJUSTMENT_COLUMNS} FROM adjustments WHERE adjustment_id = $1`, [adjustmentId]);
    return rows[0] === undefined ? undefined : adjustmentView(rows[0]);
  }

  private async views(executor: SqlExecutor, rows: readonly BreakRow[], now: Date): Promise<Record<string, unknown>[]> {
    const ledgerIds = [...new Set(rows.flatMap((row) => row.ledger_ids))];
    const bankIds = [...new Set(rows.flatMap((row) => row.bank_ids))];
    const ledger = new Map(
      (
        await queryRows<Record<string, unknown> & { entry_id: string }>(
          executor,
          `SELECT entry_id, bank_account AS account, amount_minor::text AS amount_minor, currency, to_char(value_date, 'YYYY-MM-DD') AS value_date, reference,
                  batch_reference, sub_account, description, kind, source, note, received_at,
                  (SELECT m.matched_at FROM ledger_item_matches x JOIN matches m USING (match_id) WHERE x.entry_id = ledger_items.entry_id) AS matched_at
             FROM ledger_items WHERE entry_id = ANY($1::text[])`,
          [ledgerIds],
        )
      ).map((row) => [row.entry_id, row]),
    );
    const bank = new Map(
      (
        await queryRows<Record<string, unknown> & { item_ref: string }>(
          executor,
          `SELECT item_ref, line_id, file_id, statement_id, line_no, bank_account AS account, amount_minor::text AS amount_minor, currency,
                  to_char(value_date, 'YYYY-MM-DD') AS value_date, to_char(booking_date, 'YYYY-MM-DD') AS booking_date, bank_ref, end_to_end_id, customer_ref,
                  bank_tx_code, counterparty_name, remittance, reversal, transactions, source, note, received_at,
                  (SELECT m.matched_at FROM bank_item_matches x JOIN matches m USING (match_id) WHERE x.item_ref = bank_items.item_ref) AS matched_at
             FROM bank_items WHERE item_ref = ANY($1::text[])`,
          [bankIds],
        )
      ).map((row) => [row.item_ref, row]),
    );
    return rows.map((row) => ({
      breakId: row.break_id,
      type: row.type,
      category: row.category,
      severity: row.severity,
      currency: row.currency,
      amount: row.amount,
      ledger: row.ledger_ids,
      bank: row.bank_ids,
      reason: row.reason,
      account: row.bank_account,
      businessDate: row.business_date,
      status: row.status,
      assignee: row.assignee,
      runId: row.run_id,
      openedAt: row.opened_at.toISOString(),
      ageDays: Math.floor((now.getTime() - row.opened_at.getTime()) / 86_400_000),
      closedAt: row.closed_at?.toISOString() ?? null,
      resolution: row.resolution_code === null ? null : { code: row.resolution_code, note: row.resolution_note, by: row.resolved_by },
      explanation: row.explanation,
      ledgerItems: row.ledger_ids.map((id) => ledger.get(id) ?? { entry_id: id, missing: true }),
      bankItems: row.bank_ids.map((id) => bank.get(id) ?? { item_ref: id, missing: true }),
    }));
  }
}

interface AdjustmentRow {
  adjustment_id: string;
  break_id: string;
  status: string;
  transaction: unknown;
  reason_code: string;
  proposed_by: string;
  proposed_at: Date;
  approved_by: string | null;
  approved_at: Date | null;
  posted_at: Date | null;
  ledger_transaction_id: string | null;
  post_attempts: number;
  last_error: string | null;
  ledger_refused_at: Date | null;
  cancelled_at: Date | null;
  cancelled_by: string | null;
  cancel_reason: string | null;
}

const ADJUSTMENT_COLUMNS =
  'adjustment_id, break_id, status, transaction, reason_code, proposed_by, proposed_at, approved_by, approved_at, posted_at, ledger_transaction_id, post_attempts, last_error, ledger_refused_at, cancelled_at, cancelled_by, cancel_reason';

function adjustmentView(row: AdjustmentRow) {
  return {
    adjustmentId: row.adjustment_id,
    breakId: row.break_id,
    status: row.status,
    transaction: row.transaction,
    reasonCode: row.reason_code,
    proposedBy: row.proposed_by,
    proposedAt: row.proposed_at.toISOString(),
    approvedBy: row.approved_by,
    approvedAt: row.approved_at?.toISOString() ?? null,
    postedAt: row.posted_at?.toISOString() ?? null,
    ledgerTransactionId: row.ledger_transaction_id,
    postAttempts: row.post_attempts,
    lastError: row.last_error,
    ledgerRefusedAt: row.ledger_refused_at?.toISOString() ?? null,
    cancelledAt: row.cancelled_at?.toISOString() ?? null,
    cancelledBy: row.cancelled_by,
    cancelReason: row.cancel_reason,
  };
}
