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
} from '@recon/contracts';
import { reconcile, type RuleSet } from '@recon/matching';
import { InboxConsumer, type IncomingEvent, isEventOf } from '@recon/messaging';
import type { Logger } from '@recon/observability';
import { CLOCK, type Clock, DATA_SOURCE, JETSTREAM, JETSTREAM_MANAGER, LOGGER, PLATFORM_CONFIG } from '@recon/platform';
import { queryRows, type SqlExecutor } from '@recon/persistence';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { BreakRecorder, SERVICE_ACTOR } from '../breaks/application/break-recorder';
import { RULE_SET } from '../matching/application/continuous-matcher';
import { startWhenStreamExists } from '../matching/interface/recon.consumers';
import { BankLineWithdrawals, type RetractionFacts } from './bank-line-withdrawals';
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
/**
 * A rejection-resolved can overtake its bank.line.rejected (other consumers): it is retried until that is here. (A
 * retraction that overtakes its lines is not retried: it leaves tombstones, see BankLineWithdrawals.)
 */
export const CORRECTION_MAX_DELIVER = 30;
export const CORRECTION_RETRY_BASE_MS = 500;
export { WITHDRAWN_RESOLUTION, WITHDRAWN_RULE } from './bank-line-withdrawals';
export const REPROCESSED_RESOLUTION = 'reprocessed';

export class BankLineNotReceivedError extends Error {
  constructor(what: string) {
    super(`${what} has not arrived yet; retrying`);
    this.name = 'BankLineNotReceivedError';
  }
}

/**
 * Applies the gateway's corrections to reconciliation's items, each in the inbox transaction of its event (so a
 * redelivery changes nothing):
 *
 * - `bank.line.retracted`: each named bank line is withdrawn. Its row stays (the record of what was believed), and a
 *   `withdrawn` match takes it out of the open set. A match it was in is undone (`matches.undone_at`, with the
 *   reason); the other items of that match go back to pending, and a break their match had closed as a late partner
 *   is reopened. An open break of the line is closed (`withdrawn`); other items of that break go back to pending.
 *   A line not received yet gets a tombstone, applied when it arrives (BankLineWithdrawals).
 *   The retracted statement leaves `statements` (kept in `retracted_statements`).
 * - `bank.line.rejected`: a `rejected_line` break (interface) per quarantined line, named `quarantine:<id>`.
 * - `bank.line.rejection-resolved`: that break is closed (`reprocessed`); the line itself arrives as bank.line.received.
 */
@Injectable()
export class BankCorrectionsHandler {
  constructor(
    private readonly breaks: BreakRecorder,
    private readonly withdrawals: BankLineWithdrawals,
    @Inject(RULE_SET) private readonly ruleSet: RuleSet,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async handle(event: IncomingEvent, executor: SqlExecutor): Promise<void> {
    if (isEventOf(event, BANK_LINE_RETRACTED_V1)) return this.retracted(event.payload, executor);
    if (isEventOf(event, BANK_LINE_REJECTED_V1)) return this.rejected(event.payload, executor);
    if (isEventOf(event, BANK_LINE_REJECTION_RESOLVED_V1)) return this.rejectionResolved(event.payload, executor);
  }

  /**
   * Withdraws the named lines that are here; for those not received yet (the retraction overtook them on its own
   * consumer) it leaves a tombstone that the retractions job or the account's next run applies once they arrive
   * (BankLineWithdrawals). Either way the message is acknowledged: nothing waits for a retry.
   */
  async retracted(retraction: BankLineRetractedV1, executor: SqlExecutor): Promise<void> {
    const facts: RetractionFacts = {
      findingId: retraction.findingId,
      fileId: retraction.fileId,
      account: retraction.account,
      statementId: retraction.statementId,
      part: retraction.part,
      replacedByFileId: retraction.replacedByFileId,
      reason: retraction.reason,
      retractedBy: retraction.retractedBy,
      retractedAt: retraction.retractedAt,
    };
    const found = await this.withdrawals.withdraw(executor, facts, retraction.lineIds, false);
    const missing = retraction.lineIds.filter((lineId) => !found.has(lineId.toLowerCase()));
    if (missing.length > 0) await this.withdrawals.recordTombstones(executor, facts, missing);
    await this.withdrawals.retireStatement(executor, retraction.fileId, retraction.statementId, retraction.findingId);
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
