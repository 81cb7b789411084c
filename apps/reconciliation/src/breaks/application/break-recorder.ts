import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Actor } from '@recon/auth';
import type { Role } from '@recon/config';
import { BREAK_ITEMS_MAX, REASON_LENGTH_MAX, RECON_ALERT_RAISED_V1, RECON_BREAK_CLOSED_V1, RECON_BREAK_OPENED_V1 } from '@recon/contracts';
import type { ReconBreak } from '@recon/matching';
import { enqueueEvent, enqueueEvents, type OutgoingEvent } from '@recon/messaging';
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

/** How a break is closed: `close` and `closeAll`. */
export interface BreakClosing {
  readonly status: 'resolved' | 'closed';
  readonly resolutionCode: string;
  readonly note?: string;
  readonly actor: Actor;
  readonly role?: 'ops' | 'approver' | 'service' | 'admin';
  readonly matchId?: string;
}

/** Breaks closed by one statement of `closeAll` (and of `openAll`, superseded). */
export const BREAKS_CLOSED_PER_STATEMENT_MAX = 5_000;
/** Breaks inserted by one statement of `openAll`. */
export const BREAKS_PER_STATEMENT_MAX = 2_000;
/** Events written by one statement of `openAll` (the outbox takes at most 10,000 at once). */
export const OUTBOX_EVENTS_PER_STATEMENT_MAX = 5_000;

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
    const { events } = await this.closeAllWithoutEvents(
      executor,
      superseded.map((row) => ({
        breakId: row.break_id,
        status: 'closed' as const,
        resolutionCode: 'superseded',
        note: `the same items are now in break ${breakId} (${found.type})`,
        actor: SERVICE_ACTOR,
      })),
    );
    events.push(...this.openedEventsOf(found, breakId, now, context));
    await enqueueEvents(executor, events);
    return breakId;
  }

  /**
   * `open` for every break a run found, set-wise: the breaks inserted `BREAKS_PER_STATEMENT_MAX` per statement (a
   * break whose key exists is skipped, as `open` skips it), their items pointed at them and the open breaks those
   * items were in before closed as superseded, with one statement each, and the events (opened, audit, alert) of
   * all of them written in order with `OUTBOX_EVENTS_PER_STATEMENT_MAX` per statement. The same rows and events
   * as calling `open` for each in turn, in far fewer round trips. Returns, per break (same order), its id when new.
   */
  async openAll(executor: SqlExecutor, found: readonly ReconBreak[], context: BreakContext): Promise<(string | undefined)[]> {
    const now = this.clock.now();
    const standing = await this.alreadyOpen(executor, found);
    const rows = found.flatMap((item, index) => (standing.has(index) ? [] : [{ breakId: this.ids.uuid(), found: item, index }]));
    const inserted = new Set<string>();
    for (let start = 0; start < rows.length; start += BREAKS_PER_STATEMENT_MAX) {
      const chunk = rows.slice(start, start + BREAKS_PER_STATEMENT_MAX);
      const returned = await queryRows<{ break_id: string }>(
        executor,
        `INSERT INTO breaks (break_id, break_key, type, category, severity, currency, amount, amount_minor, bank_account, business_date,
                             ledger_ids, bank_ids, reason, explanation, status, run_id, opened_at)
         SELECT b.break_id, b.break_key, b.type, b.category, b.severity, b.currency, b.amount, b.amount_minor, $2, b.business_date,
                b.ledger_ids, b.bank_ids, b.reason, b.explanation, 'open', $3, $4
           FROM jsonb_to_recordset($1::jsonb) AS b (break_id uuid, break_key text, type text, category text, severity text, currency text,
                amount text, amount_minor numeric, business_date date, ledger_ids text[], bank_ids text[], reason text, explanation jsonb, ordinal bigint)
          ORDER BY b.ordinal
         ON CONFLICT (break_key) DO NOTHING
         RETURNING break_id::text AS break_id`,
        [
          JSON.stringify(
            chunk.map(({ breakId, found: item }, ordinal) => ({
              ordinal,
              break_id: breakId,
              break_key: breakKeyOf(item, context),
              type: item.type,
              category: item.category,
              severity: item.severity,
              currency: item.currency,
              amount: item.amount,
              amount_minor: parseDecimalToMinor(item.amount, minorDigitsOf(item.currency), {}).toString(),
              business_date: item.valueDate ?? context.businessDate,
              ledger_ids: item.ledger,
              bank_ids: item.bank,
              reason: item.reason.slice(0, 2_000),
              explanation: item,
            })),
          ),
          context.bankAccount,
          context.runId ?? null,
          now,
        ],
      );
      for (const row of returned) inserted.add(row.break_id.toLowerCase());
    }
    const opened = rows.filter(({ breakId }) => inserted.has(breakId.toLowerCase()));
    const idOf = new Map(opened.map(({ breakId, index }) => [index, breakId]));
    if (opened.length === 0) return found.map(() => undefined);
    const ledgerSides = opened.flatMap(({ breakId, found: item }, index) => item.ledger.map((entryId) => [entryId, breakId, index] as const));
    const bankSides = opened.flatMap(({ breakId, found: item }, index) => item.bank.map((itemRef) => [itemRef, breakId, index] as const));
    // The open breaks the items were in until now, each with the first new break (in the run's order) that takes its items.
    const superseded = await queryRows<{ break_id: string; new_break_id: string }>(
      executor,
      `WITH items AS (
         SELECT l.break_id, x.new_break_id, x.ordinal FROM unnest($1::text[], $2::uuid[], $3::int[]) AS x (entry_id, new_break_id, ordinal)
           JOIN ledger_items l ON l.entry_id = x.entry_id WHERE l.break_id IS NOT NULL
         UNION ALL
         SELECT b.break_id, x.new_break_id, x.ordinal FROM unnest($4::text[], $5::uuid[], $6::int[]) AS x (item_ref, new_break_id, ordinal)
           JOIN bank_items b ON b.item_ref = x.item_ref WHERE b.break_id IS NOT NULL)
       SELECT DISTINCT ON (items.break_id) items.break_id::text AS break_id, items.new_break_id::text AS new_break_id
         FROM items JOIN breaks previous ON previous.break_id = items.break_id
        WHERE previous.closed_at IS NULL
        ORDER BY items.break_id, items.ordinal`,
      [
        ledgerSides.map(([id]) => id),
        ledgerSides.map(([, breakId]) => breakId),
        ledgerSides.map(([, , index]) => index),
        bankSides.map(([id]) => id),
        bankSides.map(([, breakId]) => breakId),
        bankSides.map(([, , index]) => index),
      ],
    );
    await executor.query(
      'UPDATE ledger_items l SET break_id = x.break_id FROM unnest($1::text[], $2::uuid[]) AS x (entry_id, break_id) WHERE l.entry_id = x.entry_id',
      [ledgerSides.map(([id]) => id), ledgerSides.map(([, breakId]) => breakId)],
    );
    await executor.query(
      'UPDATE bank_items b SET break_id = x.break_id FROM unnest($1::text[], $2::uuid[]) AS x (item_ref, break_id) WHERE b.item_ref = x.item_ref',
      [bankSides.map(([id]) => id), bankSides.map(([, breakId]) => breakId)],
    );
    const typeOf = new Map(opened.map(({ breakId, found: item }) => [breakId.toLowerCase(), item.type]));
    const order = new Map(opened.map(({ breakId }, index) => [breakId.toLowerCase(), index]));
    // Closed in the order `open` would have closed them: by the new break's place in the run.
    const closings = [...superseded]
      .sort((a, b) => order.get(a.new_break_id)! - order.get(b.new_break_id)! || compareIds(a.break_id, b.break_id))
      .map((row) => ({
        breakId: row.break_id,
        status: 'closed' as const,
        resolutionCode: 'superseded',
        note: `the same items are now in break ${row.new_break_id} (${typeOf.get(row.new_break_id)!})`,
        actor: SERVICE_ACTOR,
      }));
    // The superseded breaks' events (closed, audit) come first, then the new breaks', as `open` in turn writes them.
    const { events } = await this.closeAllWithoutEvents(executor, closings);
    for (const { breakId, found: item } of opened) events.push(...this.openedEventsOf(item, breakId, now, context));
    for (let start = 0; start < events.length; start += OUTBOX_EVENTS_PER_STATEMENT_MAX) {
      await enqueueEvents(executor, events.slice(start, start + OUTBOX_EVENTS_PER_STATEMENT_MAX));
    }
    return found.map((_, index) => idOf.get(index));
  }

  /**
   * The found breaks (by index) whose items are exactly the items of a break still open: that difference is open
   * already, whatever its type says now. A run classifies from what is open: a duplicate whose twin was matched
   * since the break was opened would now read as a missing entry, and a re-run would replace the break with a new
   * one for the same items. The break that stands keeps the classification made when more was known.
   */
  private async alreadyOpen(executor: SqlExecutor, found: readonly ReconBreak[]): Promise<Set<number>> {
    const ledgerSides = found.flatMap((item, index) => item.ledger.map((entryId) => [entryId, index] as const));
    const bankSides = found.flatMap((item, index) => item.bank.map((itemRef) => [itemRef, index] as const));
    if (ledgerSides.length + bankSides.length === 0) return new Set();
    const rows = await queryRows<{ ordinal: number; items: number }>(
      executor,
      `WITH items AS (
         SELECT x.ordinal, l.break_id FROM unnest($1::text[], $2::int[]) AS x (entry_id, ordinal) JOIN ledger_items l ON l.entry_id = x.entry_id
         UNION ALL
         SELECT x.ordinal, b.break_id FROM unnest($3::text[], $4::int[]) AS x (item_ref, ordinal) JOIN bank_items b ON b.item_ref = x.item_ref)
       SELECT i.ordinal, count(*)::int AS items FROM items i JOIN breaks standing ON standing.break_id = i.break_id AND standing.closed_at IS NULL
        GROUP BY i.ordinal, standing.break_id, standing.ledger_ids, standing.bank_ids
       HAVING count(*) = cardinality(standing.ledger_ids) + cardinality(standing.bank_ids)`,
      [ledgerSides.map(([id]) => id), ledgerSides.map(([, index]) => index), bankSides.map(([id]) => id), bankSides.map(([, index]) => index)],
    );
    const sizes = found.map((item) => item.ledger.length + item.bank.length);
    // Every item of the found break is in that open break and that break has no other item: the same difference.
    return new Set(rows.filter((row) => row.items === sizes[row.ordinal]).map((row) => row.ordinal));
  }

  /** What opening a break tells: `recon.break.opened`, its audit event, and `recon.alert.raised` when it needs a person now. */
  private openedEventsOf(found: ReconBreak, breakId: string, now: Date, context: BreakContext): OutgoingEvent[] {
    const date = found.valueDate ?? context.businessDate;
    const events: OutgoingEvent[] = [
      {
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
      },
      this.audit.eventOf({
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
      }),
    ];
    const alertKind = alertKindOf(found);
    if (alertKind !== undefined) {
      events.push({
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
    return events;
  }

  /**
   * Opens a closed break again while it is still closed as `from` says (and, with `unlessStillAdjustedBesides`, no
   * approved or posted adjustment other than that one resolves it): status back to open (assigned when it has an
   * assignee), resolution cleared, `recon.break.opened` again and a `break.reopen` audit event. Returns the reopened
   * status, or undefined when the break was not closed that way.
   */
  async reopen(
    executor: SqlExecutor,
    breakId: string,
    reopening: {
      from: { status: 'resolved' | 'closed'; resolutionCode: string };
      unlessStillAdjustedBesides?: string;
      actor: Actor;
      role: Role;
      reason: string;
    },
  ): Promise<string | undefined> {
    const now = this.clock.now();
    const [reopened] = await queryRows<{
      type: ReconBreak['type'];
      category: ReconBreak['category'];
      severity: ReconBreak['severity'];
      currency: string;
      amount: string;
      bank_account: string;
      business_date: string;
      ledger_ids: string[];
      bank_ids: string[];
      reason: string;
      run_id: string | null;
      status: string;
    }>(
      executor,
      `UPDATE breaks SET status = CASE WHEN assignee IS NULL THEN 'open' ELSE 'assigned' END, closed_at = NULL, resolution_code = NULL,
              resolution_note = NULL, resolved_by = NULL
        WHERE break_id = $1 AND status = $2 AND resolution_code = $3
          AND ($4::uuid IS NULL OR NOT EXISTS (
                SELECT 1 FROM adjustments a WHERE a.break_id = $1 AND a.adjustment_id <> $4 AND a.status IN ('approved-pending-posting', 'posted')))
        RETURNING type, category, severity, currency, amount, bank_account, to_char(business_date, 'YYYY-MM-DD') AS business_date, ledger_ids, bank_ids,
                  reason, run_id::text, status`,
      [breakId, reopening.from.status, reopening.from.resolutionCode, reopening.unlessStillAdjustedBesides ?? null],
    );
    if (reopened === undefined) return undefined;
    await enqueueEvent(executor, {
      messageId: this.ids.uuid(),
      subject: RECON_BREAK_OPENED_V1.subject,
      schemaVersion: RECON_BREAK_OPENED_V1.schemaVersion,
      payload: {
        breakId,
        ...(reopened.run_id === null ? {} : { runId: reopened.run_id }),
        openedAt: now.toISOString(),
        businessDate: reopened.business_date,
        account: reopened.bank_account,
        type: reopened.type,
        category: reopened.category,
        severity: reopened.severity,
        currency: reopened.currency,
        amount: reopened.amount,
        ledger: reopened.ledger_ids.slice(0, BREAK_ITEMS_MAX),
        bank: reopened.bank_ids.slice(0, BREAK_ITEMS_MAX),
        reason: reopened.reason.slice(0, REASON_LENGTH_MAX),
      },
    });
    await this.audit.record(executor, {
      actor: reopening.actor,
      role: reopening.role,
      action: 'break.reopen',
      entity: { type: 'break', id: breakId },
      before: reopening.from,
      after: { status: reopened.status },
      details: { type: reopened.type, account: reopened.bank_account, reason: reopening.reason.slice(0, 500) },
    });
    return reopened.status;
  }

  /** Takes an open break out of the open set; a break already closed stays as it is (returns false). */
  async close(executor: SqlExecutor, breakId: string, closing: BreakClosing): Promise<boolean> {
    const [closed] = await this.closeAll(executor, [{ ...closing, breakId }]);
    return closed!;
  }

  /**
   * `close` for many breaks with one UPDATE and one outbox statement per `OUTBOX_EVENTS_PER_STATEMENT_MAX` events:
   * the same rows and events (closed, then audit, per break in the given order) as calling `close` for each in turn.
   * Returns, per closing (same order), whether it closed its break; a break named twice is closed by the first.
   */
  async closeAll(executor: SqlExecutor, closings: readonly (BreakClosing & { readonly breakId: string })[]): Promise<boolean[]> {
    const { closed, events } = await this.closeAllWithoutEvents(executor, closings);
    for (let start = 0; start < events.length; start += OUTBOX_EVENTS_PER_STATEMENT_MAX) {
      await enqueueEvents(executor, events.slice(start, start + OUTBOX_EVENTS_PER_STATEMENT_MAX));
    }
    return closings.map((closing) => closed.get(closing.breakId.toLowerCase()) === closing);
  }

  /**
   * The UPDATEs of `closeAll`: which closing closed each break (the first naming it, when the break was still
   * open), and the events owed for them (closed and audit per break, in the given order), not yet written.
   */
  private async closeAllWithoutEvents(
    executor: SqlExecutor,
    closings: readonly (BreakClosing & { readonly breakId: string })[],
  ): Promise<{ closed: Map<string, BreakClosing>; events: OutgoingEvent[] }> {
    const closed = new Map<string, BreakClosing>();
    if (closings.length === 0) return { closed, events: [] };
    const now = this.clock.now();
    const firsts = new Map<string, BreakClosing & { readonly breakId: string }>();
    for (const closing of closings) if (!firsts.has(closing.breakId.toLowerCase())) firsts.set(closing.breakId.toLowerCase(), closing);
    const unique = [...firsts.values()];
    for (let start = 0; start < unique.length; start += BREAKS_CLOSED_PER_STATEMENT_MAX) {
      const chunk = unique.slice(start, start + BREAKS_CLOSED_PER_STATEMENT_MAX);
      const rows = await queryRows<{ break_id: string }>(
        executor,
        `UPDATE breaks b SET status = x.status, closed_at = $1, resolution_code = x.resolution_code, resolution_note = x.note, resolved_by = x.resolved_by
           FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x (break_id, status, resolution_code, note, resolved_by)
          WHERE b.break_id = x.break_id AND b.closed_at IS NULL
         RETURNING b.break_id::text AS break_id`,
        [
          now,
          chunk.map((closing) => closing.breakId),
          chunk.map((closing) => closing.status),
          chunk.map((closing) => closing.resolutionCode),
          chunk.map((closing) => closing.note?.slice(0, 2_000) ?? null),
          chunk.map((closing) => closing.actor.id),
        ],
      );
      for (const row of rows) closed.set(row.break_id.toLowerCase(), firsts.get(row.break_id.toLowerCase())!);
    }
    const events: OutgoingEvent[] = [];
    for (const closing of unique) if (closed.has(closing.breakId.toLowerCase())) events.push(...this.closedEventsOf(closing.breakId, closing, now));
    return { closed, events };
  }

  /** What closing a break tells: `recon.break.closed` and its audit event (ids taken in that order, as `close` always took them). */
  private closedEventsOf(breakId: string, closing: BreakClosing, now: Date): OutgoingEvent[] {
    return [
      {
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
      },
      this.audit.eventOf({
        actor: closing.actor,
        role: closing.role ?? 'service',
        action: closing.status === 'resolved' ? 'break.resolve' : 'break.close',
        entity: { type: 'break', id: breakId },
        details: {
          resolutionCode: closing.resolutionCode,
          ...(closing.note === undefined ? {} : { note: closing.note.slice(0, 500) }),
          ...(closing.matchId === undefined ? {} : { matchId: closing.matchId }),
        },
      }),
    ];
  }
}
