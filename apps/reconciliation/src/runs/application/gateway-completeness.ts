import type { Actor } from '@recon/auth';
import { bankLineReceivedV1Schema } from '@recon/contracts';
import type { RuleSet } from '@recon/matching';
import type { AuditRecorder, Clock } from '@recon/platform';
import { queryRows, type TransactionRunner } from '@recon/persistence';
import { bankItemOfLine, type BankItemRow, ignoredReferencesOf } from '../../items/domain/recon-items';
import type { IdSet } from '../../items/domain/id-set';
import { type ItemsPgRepository, lockMatchKeySets } from '../../items/infrastructure/items.pg.repository';
import { type GatewayHttpClient, type GatewayLineText, type HeldLineIds, parseGatewayLine } from '../infrastructure/gateway.http.client';

/** The note a bank item imported from the gateway's record carries (shown with its break). */
export const MISSING_BANK_LINE_NOTE = "missing event: in the gateway's record of the day but never received as bank.line.received";
/** Invalid lines named one by one in the run's warnings; the count is always complete. */
const INVALID_LINES_WARNED_MAX = 20;
/** Line ids listed in one audit event. */
const AUDITED_IDS_MAX = 20;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** bank_items.line_id is a uuid: the id as Postgres prints it, or undefined for anything else. */
export function uuidOf(value: unknown): string | undefined {
  return typeof value === 'string' && UUID_PATTERN.test(value) ? value.toLowerCase() : undefined;
}

export interface GatewayCompletenessRequest {
  readonly bankAccount: string;
  readonly businessDate: string;
  readonly actor: Actor;
}

/**
 * The run's check of its bank items against the gateway's COMPLETE record of the day (`GET /v1/lines?account&date`:
 * every line the gateway published for the account, booked or value-dated that day), not against the statement
 * files this service happens to know: a line whose bank.line.received was lost is found even when its file's
 * bank.statement.received was lost too. Each missing line is stored (`source: gateway`, noted `missing event`) and
 * takes part in the run's matching like any other; unmatched past its grace window it is a break of the type the
 * engine gives it (a credit `missing_in_ledger`, an unexplained debit `unauthorized_debit`).
 *
 * The record is read in chunks, each checked and stored in its own transaction: memory stays at one chunk, and
 * what was stored before a broken stream stays stored (a re-run finds it known and stores nothing twice).
 */
export class GatewayCompletenessCheck {
  private readonly ignoredReferences: ReadonlySet<string>;

  constructor(
    private readonly db: TransactionRunner,
    private readonly gateway: GatewayHttpClient,
    private readonly items: ItemsPgRepository,
    private readonly audit: AuditRecorder,
    private readonly clock: Clock,
    ruleSet: RuleSet,
  ) {
    this.ignoredReferences = ignoredReferencesOf(ruleSet);
  }

  /**
   * The ids of the day's stored lines, read ahead: the run starts this read before its ledger check, so that
   * Postgres gathers them while the service reads the ledger's export; `importMissingBankLines` then takes them.
   */
  static storedIdsOfDay(
    db: TransactionRunner,
    items: ItemsPgRepository,
    request: Pick<GatewayCompletenessRequest, 'bankAccount' | 'businessDate'>,
  ): Promise<IdSet> {
    return db.transaction((executor) => items.bankLineIdsOfDay(executor, request.bankAccount, request.businessDate));
  }

  /**
   * Returns how many lines were missing and are stored now; what could not be checked goes to `warnings`.
   * `storedIds`: `storedIdsOfDay`'s read when the caller started it ahead; read here otherwise.
   */
  async importMissingBankLines(request: GatewayCompletenessRequest, warnings: string[], storedIds?: Promise<IdSet>): Promise<number> {
    let imported = 0;
    let listed = 0;
    const invalid = { count: 0 };
    try {
      // Most of the day's lines are stored under its date (their value date, else booking date, else arrival day):
      // their ids in one read. A line among them is recognised by its id as it streams in and goes no further
      // (nearly every id comes as Postgres prints it); only the others are looked up by id, chunk by chunk.
      const ofDay = await (storedIds ?? GatewayCompletenessCheck.storedIdsOfDay(this.db, this.items, request));
      const counted = (isHeld: boolean): boolean => {
        if (isHeld) listed += 1;
        return isHeld;
      };
      const held: HeldLineIds = {
        has: (lineId) => counted(ofDay.has(lineId)),
        hasBytes: (bytes, start, end) => counted(ofDay.hasBytes(bytes, start, end)),
      };
      for await (const chunk of this.gateway.linesOfDay(request.bankAccount, request.businessDate, held)) {
        listed += chunk.length;
        const notOfDay = chunk.filter((line) => {
          const lineId = uuidOf(line.lineId);
          return lineId === undefined || !ofDay.has(lineId);
        });
        if (notOfDay.length > 0) imported += await this.importChunk(request, notOfDay, warnings, invalid);
      }
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      warnings.push(`bank gateway completeness ${listed === 0 ? 'not checked' : `checked only for the first ${listed} lines`}: ${why}`);
    }
    if (invalid.count > INVALID_LINES_WARNED_MAX) warnings.push(`${invalid.count - INVALID_LINES_WARNED_MAX} more invalid bank gateway lines not named`);
    return imported;
  }

  private async importChunk(
    request: GatewayCompletenessRequest,
    chunk: readonly GatewayLineText[],
    warnings: string[],
    invalid: { count: number },
  ): Promise<number> {
    // Which lines are held already: one look-up by id for the chunk, outside any transaction (a line stored
    // meanwhile is found again by insertBankItems below, which skips what exists).
    const known = new Set(
      (
        await this.db.transaction((executor) =>
          queryRows<{ line_id: string }>(executor, 'SELECT line_id::text FROM bank_items WHERE line_id = ANY($1::uuid[])', [
            chunk.flatMap((line) => {
              const lineId = uuidOf(line.lineId);
              return lineId === undefined ? [] : [lineId];
            }),
          ]),
        )
      ).map((row) => row.line_id),
    );
    const unknown = chunk.filter((line) => {
      const lineId = uuidOf(line.lineId);
      return lineId === undefined || !known.has(lineId);
    });
    if (unknown.length === 0) return 0;
    return this.db.transaction(async (executor) => {
      const missing: BankItemRow[] = [];
      for (const text of unknown) {
        let line: Record<string, unknown>;
        try {
          line = parseGatewayLine(text);
        } catch (error) {
          invalid.count += 1;
          if (invalid.count <= INVALID_LINES_WARNED_MAX) warnings.push(error instanceof Error ? error.message : String(error));
          continue;
        }
        const lineId = uuidOf(line.lineId);
        const parsed = bankLineReceivedV1Schema.safeParse(line);
        if (!parsed.success || lineId === undefined) {
          invalid.count += 1;
          if (invalid.count <= INVALID_LINES_WARNED_MAX) {
            const why = parsed.success ? 'its lineId is not a UUID' : (parsed.error.issues[0]?.message ?? '');
            warnings.push(`bank gateway line ${String(line.lineId)} is not a valid bank line: ${why}`);
          }
          continue;
        }
        // The gateway lists the account asked for; anything else is not this run's to store.
        if (parsed.data.account !== request.bankAccount) continue;
        missing.push(bankItemOfLine(parsed.data, this.ignoredReferences));
      }
      if (missing.length === 0) return 0;
      // Named set-wise as continuous matching names lines (bankRef, else statementId:lineNo, #2..); not matched here:
      // the run's full matching that follows pairs them.
      const inserted = await this.items.insertBankItems(executor, missing);
      if (inserted.size === 0) return 0;
      const stored = missing.filter((row) => inserted.has(row.lineId));
      // As a new line's own transaction does: a continuous batch that holds these amounts' locks cannot see the rows.
      await lockMatchKeySets(
        executor,
        stored.map((row) => [`A:${row.bankAccount}:${row.currency}:${row.amountMinor < 0n ? -row.amountMinor : row.amountMinor}`]),
      );
      await executor.query(`UPDATE bank_items SET source = 'gateway', note = $2 WHERE line_id = ANY($1::uuid[])`, [
        stored.map((row) => row.lineId),
        MISSING_BANK_LINE_NOTE,
      ]);
      await this.audit.record(executor, {
        actor: request.actor,
        role: 'service',
        action: 'items.import-missing',
        entity: { type: 'account', id: request.bankAccount },
        details: {
          businessDate: request.businessDate,
          account: request.bankAccount,
          missingBankLineEvents: stored.length,
          itemRefs: stored.slice(0, AUDITED_IDS_MAX).map((row) => inserted.get(row.lineId)!),
          fileIds: [...new Set(stored.map((row) => row.fileId))].slice(0, AUDITED_IDS_MAX),
          checkedAt: this.clock.now().toISOString(),
        },
      });
      return stored.length;
    });
  }
}
