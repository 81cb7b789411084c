import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { PlatformConfig } from '@recon/config';
import {
  BANK_LINE_REJECTED_V1,
  BANK_LINE_REJECTION_RESOLVED_V1,
  BANK_LINE_RETRACTED_V1,
  type BankLineRejectedV1,
  type BankLineRejectionResolvedV1,
  type BankLineRetractedV1,
  RECON_BREAK_OPENED_V1,
} from '@recon/contracts';
import { reconcile, type ReconBreak, type RuleSet } from '@recon/matching';
import { enqueueEvent, InboxConsumer, type IncomingEvent, isEventOf } from '@recon/messaging';
import type { Logger } from '@recon/observability';
import {
  AuditRecorder,
  CLOCK,
  type Clock,
  DATA_SOURCE,
  ID_GENERATOR,
  type IdGenerator,
  JETSTREAM,
  JETSTREAM_MANAGER,
  LOGGER,
  PLATFORM_CONFIG,
} from '@recon/platform';
import { queryRows, type SqlExecutor } from '@recon/persistence';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { BreakRecorder, SERVICE_ACTOR } from '../breaks/application/break-recorder';
import { RULE_SET } from '../matching/application/continuous-matcher';
import { startWhenStreamExists } from '../matching/interface/recon.consumers';
import { RECONCILIATION_SETTINGS } from '../runs/application/account-settings';
import type { ReconciliationSettings } from '../reconciliation.config';

/**
 * One durable consumer per correction subject (InboxConsumer takes one filter subject; a `bank.line.>` filter would
 * take every bank.line.received a second time). Separate from continuous matching's consumers, so that neither
 * waits for the other.
 */
export const CORRECTION_CONSUMERS: readonly { readonly durableName: string; readonly subject: string }[] = [
  { durableName: 'reconciliation-bank-retracted', subject: BANK_LINE_RETRACTED_V1.subject },
  { durableName: 'reconciliation-bank-rejected', subject: BANK_LINE_REJECTED_V1.subject },
  { durableName: 'reconciliation-bank-rejection-resolved', subject: BANK_LINE_REJECTION_RESOLVED_V1.subject },
];
/** A retraction or resolution can overtake the line it names (other consumers): it is retried until the line is here. */
export const CORRECTION_MAX_DELIVER = 30;
export const CORRECTION_RETRY_BASE_MS = 500;
/** The rule name of the pseudo-match that takes a withdrawn bank line out of the open set. */
export const WITHDRAWN_RULE = 'withdrawn';
export const WITHDRAWN_RESOLUTION = 'withdrawn';
export const REPROCESSED_RESOLUTION = 'reprocessed';
/** Line ids listed in one audit event (the count is always complete). */
const AUDITED_IDS_MAX = 100;

export class BankLineNotReceivedError extends Error {
  constructor(what: string) {
    super(`${what} has not arrived yet; retrying`);
    this.name = 'BankLineNotReceivedError';
  }
}

interface WithdrawnItemRow {
  line_id: string;
  item_ref: string;
  match_id: string | null;
  match_rule: string | null;
  break_id: string | null;
  withdrawn: boolean;
}

/**
 * Applies the gateway's corrections to reconciliation's items, each in the inbox transaction of its event (so a
 * redelivery changes nothing):
 *
 * - `bank.line.retracted`: each named bank line is withdrawn. Its row stays (the record of what was believed), and a
 *   `withdrawn` match takes it out of the open set. A match it was in is undone (`matches.undone_at`, with the
 *   reason); the other items of that match go back to pending, and a break their match had closed as a late partner
 *   is reopened. An open break of the line is closed (`withdrawn`); other items of that break go back to pending.
 *   The retracted statement leaves `statements` (kept in `retracted_statements`).
 * - `bank.line.rejected`: a `rejected_line` break (interface) per quarantined line, named `quarantine:<id>`.
 * - `bank.line.rejection-resolved`: that break is closed (`reprocessed`); the line itself arrives as bank.line.received.
 */
@Injectable()
export class BankCorrectionsHandler {
  constructor(
    private readonly breaks: BreakRecorder,
    private readonly audit: AuditRecorder,
    @Inject(RULE_SET) private readonly ruleSet: RuleSet,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  async handle(event: IncomingEvent, executor: SqlExecutor): Promise<void> {
    if (isEventOf(event, BANK_LINE_RETRACTED_V1)) return this.retracted(event.payload, executor);
    if (isEventOf(event, BANK_LINE_REJECTED_V1)) return this.rejected(event.payload, executor);
    if (isEventOf(event, BANK_LINE_REJECTION_RESOLVED_V1)) return this.rejectionResolved(event.payload, executor);
  }

  async retracted(retraction: BankLineRetractedV1, executor: SqlExecutor): Promise<void> {
    const now = this.clock.now();
    const items = await queryRows<WithdrawnItemRow>(
      executor,
      `SELECT b.line_id::text, b.item_ref, b.match_id::text, m.rule AS match_rule, b.break_id::text, (w.line_id IS NOT NULL) AS withdrawn
         FROM bank_items b LEFT JOIN matches m ON m.match_id = b.match_id LEFT JOIN bank_line_withdrawals w ON w.line_id = b.line_id
        WHERE b.line_id = ANY($1::uuid[]) ORDER BY b.line_id FOR UPDATE OF b`,
      [retraction.lineIds],
    );
    const found = new Set(items.map((item) => item.line_id));
    const missing = retraction.lineIds.filter((lineId) => !found.has(lineId));
    if (missing.length > 0) throw new BankLineNotReceivedError(`bank line ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''} (retracted)`);
    const pending = items.filter((item) => !item.withdrawn);
    const note = `retracted by gateway finding ${retraction.findingId} (${retraction.retractedBy}): ${retraction.reason}`.slice(0, 2_000);
    const undone = new Map<string, string>();
    const closedBreaks = new Map<string, string>();
    if (pending.length > 0) {
      const retractedIds = pending.map((item) => item.line_id);
      for (const matchId of new Set(pending.filter((item) => item.match_id !== null && item.match_rule !== WITHDRAWN_RULE).map((item) => item.match_id!))) {
        await this.undoMatch(executor, matchId, retractedIds, note, now);
        for (const item of pending) if (item.match_id === matchId) undone.set(item.line_id, matchId);
      }
      for (const breakId of new Set(pending.filter((item) => item.break_id !== null).map((item) => item.break_id!))) {
        const closed = await this.breaks.close(executor, breakId, { status: 'closed', resolutionCode: WITHDRAWN_RESOLUTION, note, actor: SERVICE_ACTOR });
        if (!closed) continue;
        for (const item of pending) if (item.break_id === breakId) closedBreaks.set(item.line_id, breakId);
        // The break's other items are differences still: pending again, a run or the sweep opens their own break.
        await executor.query('UPDATE ledger_items SET break_id = NULL WHERE break_id = $1 AND matched_at IS NULL', [breakId]);
        await executor.query('UPDATE bank_items SET break_id = NULL WHERE break_id = $1 AND matched_at IS NULL AND NOT (line_id = ANY($2::uuid[]))', [
          breakId,
          retractedIds,
        ]);
      }
      const withdrawalId = this.ids.uuid();
      await executor.query(
        `WITH recorded AS (INSERT INTO matches (match_id, rule, ledger_ids, bank_ids, matched_at) VALUES ($1, $2, '{}'::text[], $3::text[], $4) RETURNING match_id)
         UPDATE bank_items SET matched_at = $4, match_id = $1 WHERE line_id = ANY($5::uuid[]) AND EXISTS (SELECT 1 FROM recorded)`,
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
        },
      });
    }
    // The retracted version no longer counts for continuity and completeness: the accepted one arrives as a new statement.
    await executor.query(
      `WITH gone AS (DELETE FROM statements WHERE statement_key = $1 RETURNING *)
       INSERT INTO retracted_statements (statement_key, finding_id, statement, retracted_at) SELECT statement_key, $2, to_jsonb(gone), $3 FROM gone
       ON CONFLICT (statement_key) DO NOTHING`,
      [`${retraction.fileId}:${retraction.statementId}`, retraction.findingId, now],
    );
  }

  /** Undoes a match of a withdrawn line: its other items are open again, with the reason recorded on the match. */
  private async undoMatch(executor: SqlExecutor, matchId: string, retractedIds: readonly string[], note: string, now: Date): Promise<void> {
    const [match] = await queryRows<{ rule: string; ledger_ids: string[]; bank_ids: string[] }>(
      executor,
      'UPDATE matches SET undone_at = $2, undo_reason = $3 WHERE match_id = $1 AND undone_at IS NULL RETURNING rule, ledger_ids, bank_ids',
      [matchId, now, note],
    );
    if (match === undefined) return;
    const freed = await queryRows<{ break_id: string | null }>(
      executor,
      `WITH ledger AS (UPDATE ledger_items SET matched_at = NULL, match_id = NULL WHERE match_id = $1 RETURNING break_id),
            bank AS (UPDATE bank_items SET matched_at = NULL, match_id = NULL WHERE match_id = $1 AND NOT (line_id = ANY($2::uuid[])) RETURNING break_id)
       SELECT break_id::text FROM ledger UNION SELECT break_id::text FROM bank`,
      [matchId, retractedIds],
    );
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
      await this.reopenLatePartnerBreak(executor, breakId, note, now);
    }
  }

  private async reopenLatePartnerBreak(executor: SqlExecutor, breakId: string, note: string, now: Date): Promise<void> {
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
    }>(
      executor,
      `UPDATE breaks SET status = 'open', closed_at = NULL, resolution_code = NULL, resolution_note = NULL, resolved_by = NULL
        WHERE break_id = $1 AND status = 'closed' AND resolution_code = 'late_partner'
        RETURNING type, category, severity, currency, amount, bank_account, to_char(business_date, 'YYYY-MM-DD') AS business_date, ledger_ids, bank_ids,
                  reason, run_id::text`,
      [breakId],
    );
    if (reopened === undefined) return;
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
        ledger: reopened.ledger_ids.slice(0, 1_000),
        bank: reopened.bank_ids.slice(0, 1_000),
        reason: reopened.reason,
      },
    });
    await this.audit.record(executor, {
      actor: SERVICE_ACTOR,
      role: 'service',
      action: 'break.reopen',
      entity: { type: 'break', id: breakId },
      details: { type: reopened.type, account: reopened.bank_account, reason: note.slice(0, 500) },
    });
  }

  async rejected(line: BankLineRejectedV1, executor: SqlExecutor): Promise<void> {
    const currency = line.currency ?? (line.account === undefined ? undefined : await this.custodyCurrencyOf(executor, line.account));
    const note =
      line.account === undefined
        ? 'no break: the gateway knew no account for this line (no statement header read, no connection)'
        : currency === undefined
          ? `no break: no currency known for account ${line.account} (no statement header read, no custody account of that bank account)`
          : undefined;
    const inserted = await queryRows<{ quarantine_id: string }>(
      executor,
      `INSERT INTO rejected_bank_lines (quarantine_id, file_id, parse_id, line_no, reason, raw, bank_account, currency, statement_id, rejected_at, note, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (quarantine_id) DO NOTHING RETURNING quarantine_id`,
      [
        line.quarantineId,
        line.fileId,
        line.parseId,
        line.lineNo,
        line.reason,
        line.raw,
        line.account ?? null,
        currency ?? null,
        line.statementId ?? null,
        line.rejectedAt,
        note ?? null,
        this.clock.now(),
      ],
    );
    if (inserted.length === 0 || line.account === undefined || currency === undefined) return;
    const [found] = reconcile(
      {
        ledger: [],
        bank: [],
        rejected: [
          {
            source: `file ${line.fileId}`,
            lineNo: line.lineNo,
            reason: line.reason,
            raw: line.raw,
            currency,
            ...(line.statementId === undefined ? {} : { statementId: line.statementId }),
          },
        ],
      },
      this.ruleSet,
    ).breaks;
    if (found === undefined) throw new Error(`the matching library gave no rejected_line break for quarantined line ${line.quarantineId}`);
    // Named by its quarantine row: two unreadable lines of one statement and day are two breaks.
    const breakId = await this.breaks.open(
      executor,
      { ...found, bank: [`quarantine:${line.quarantineId}`], account: line.account },
      { bankAccount: line.account, businessDate: line.rejectedAt.slice(0, 10) },
    );
    if (breakId !== undefined) await executor.query('UPDATE rejected_bank_lines SET break_id = $2 WHERE quarantine_id = $1', [line.quarantineId, breakId]);
  }

  async rejectionResolved(resolution: BankLineRejectionResolvedV1, executor: SqlExecutor): Promise<void> {
    const [row] = await queryRows<{ break_id: string | null; resolved_at: Date | null }>(
      executor,
      'SELECT break_id::text, resolved_at FROM rejected_bank_lines WHERE quarantine_id = $1 FOR UPDATE',
      [resolution.quarantineId],
    );
    if (row === undefined) throw new BankLineNotReceivedError(`the rejection of quarantined line ${resolution.quarantineId}`);
    if (row.resolved_at !== null) return;
    await executor.query('UPDATE rejected_bank_lines SET resolved_at = $2, resolved_by_parse_id = $3 WHERE quarantine_id = $1', [
      resolution.quarantineId,
      resolution.resolvedAt,
      resolution.resolvedByParseId,
    ]);
    if (row.break_id === null) return;
    await this.breaks.close(executor, row.break_id, {
      status: 'closed',
      resolutionCode: REPROCESSED_RESOLUTION,
      note: `line ${resolution.lineNo} of file ${resolution.fileId} was read by reprocess ${resolution.resolvedByParseId}`,
      actor: SERVICE_ACTOR,
    });
  }

  private async custodyCurrencyOf(executor: SqlExecutor, bankAccount: string): Promise<string | undefined> {
    const currencies = await queryRows<{ currency: string }>(executor, 'SELECT DISTINCT currency FROM custody_accounts WHERE bank_account = $1', [bankAccount]);
    return currencies.length === 1 ? currencies[0]!.currency : undefined;
  }
}

/** The durable consumers feeding BankCorrectionsHandler (started with continuous matching's, when consumers are enabled). */
@Injectable()
export class BankCorrectionsConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly consumers: InboxConsumer[] = [];

  constructor(
    @Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig,
    @Inject(RECONCILIATION_SETTINGS) private readonly settings: ReconciliationSettings,
    @Inject(JETSTREAM) private readonly jetstream: JetStreamClient,
    @Inject(JETSTREAM_MANAGER) private readonly jsm: JetStreamManager,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly handler: BankCorrectionsHandler,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.settings.consumersEnabled) return;
    const pool = (this.dataSource.driver as unknown as { master: Pool }).master;
    for (const definition of CORRECTION_CONSUMERS) {
      this.consumers.push(
        new InboxConsumer({
          jetstream: this.jetstream,
          jsm: this.jsm,
          namespace: this.config.NATS_NAMESPACE,
          stream: 'BANK',
          durableName: definition.durableName,
          filterSubject: definition.subject,
          transaction: pool,
          handler: (event, executor) => this.handler.handle(event, executor),
          // One at a time: the lines of one retraction are locked together, and corrections are rare.
          concurrency: 1,
          maxDeliver: CORRECTION_MAX_DELIVER,
          retryBaseMs: CORRECTION_RETRY_BASE_MS,
          logger: this.logger,
        }),
      );
    }
    await Promise.all(this.consumers.map((consumer) => startWhenStreamExists(consumer)));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.stop()));
  }
}
