import { Inject, Injectable } from '@nestjs/common';
import { AuditRecorder, CLOCK, type Clock, ID_GENERATOR, type IdGenerator } from '@recon/platform';
import { queryRows, type SqlExecutor } from '@recon/persistence';
import { BreakRecorder, SERVICE_ACTOR } from '../breaks/application/break-recorder';
import { releaseOtherItemsOfBreak, WITHDRAWN_RULE } from './bank-line-withdrawals';

/** The rule name of the pseudo-match that takes the confirmed copy of a movement out of the open set. */
export const INTRADAY_CONFIRMED_RULE = 'intraday-confirmed';
export const INTRADAY_CONFIRMED_RESOLUTION = 'intraday_confirmed';
/** Statement formats that announce movements during the day; the others are the end-of-day record. */
export const INTRADAY_FORMATS: readonly string[] = ['camt.052', 'camt.054', 'mt942'];
/** Pairs listed in one audit event (the count is always complete). */
const AUDITED_PAIRS_MAX = 100;

interface CandidateRow {
  line_id: string;
  intraday: boolean;
  partner_line_id: string;
  partner_matched: boolean;
}

export interface IntradayPair {
  readonly intradayLineId: string;
  readonly statementLineId: string;
  /** The one of the two that leaves the open set: the intraday line when it is open, else the statement line. */
  readonly withdrawnLineId: string;
}

/**
 * Pairs, one to one and in line-id order, each open bank line with a line of the other kind (intraday report vs
 * end-of-day statement) that states the same movement; a line already paired, or already in a pair, is passed
 * over, so a second statement line for one intraday line stays open (a true double booking is still a break).
 */
export function pairIntradayLines(candidates: readonly CandidateRow[]): IntradayPair[] {
  const sorted = [...candidates].sort((a, b) => (a.line_id === b.line_id ? (a.partner_line_id < b.partner_line_id ? -1 : 1) : a.line_id < b.line_id ? -1 : 1));
  const used = new Set<string>();
  const pairs: IntradayPair[] = [];
  for (const row of sorted) {
    if (used.has(row.line_id) || used.has(row.partner_line_id)) continue;
    const intradayLineId = row.intraday ? row.line_id : row.partner_line_id;
    const statementLineId = row.intraday ? row.partner_line_id : row.line_id;
    // The row's own line is open; the intraday line is withdrawn when open (the statement is the record of the
    // day), else (matched already) the statement line confirms it and leaves.
    const intradayOpen = row.intraday || !row.partner_matched;
    pairs.push({ intradayLineId, statementLineId, withdrawnLineId: intradayOpen ? intradayLineId : statementLineId });
    used.add(row.line_id);
    used.add(row.partner_line_id);
  }
  return pairs;
}

/**
 * The same movement reported intraday and again in the end-of-day statement is one movement: same account,
 * currency, amount, effective date and bank reference, one line of each kind (migration 0009). Applied by every run
 * of an account (nightly, API, grace sweep) before it matches or opens breaks. Lines without a bank reference, or
 * whose statement event never arrived (format unknown), are left alone.
 */
@Injectable()
export class IntradayConfirmations {
  constructor(
    private readonly breaks: BreakRecorder,
    private readonly audit: AuditRecorder,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  /** Pairs the account's open lines with their other copies and withdraws one of each pair; returns the pairs made. */
  async apply(executor: SqlExecutor, bankAccount: string, runId?: string): Promise<number> {
    // Most accounts never receive intraday reports: one look at the (small) statements table spares the rest.
    const [reported] = await queryRows<{ any: boolean }>(
      executor,
      'SELECT EXISTS (SELECT 1 FROM statements WHERE bank_account = $1 AND format = ANY($2::text[])) AS any',
      [bankAccount, INTRADAY_FORMATS],
    );
    if (reported?.any !== true) return 0;
    // Set-wise (hash joins, no look-up per line): the open lines, the lines of their days that could be their other
    // copy (not withdrawn or confirmed already, in a match that stands or in none), joined on the movement's key.
    const candidates = await queryRows<CandidateRow>(
      executor,
      `WITH open_lines AS MATERIALIZED (
         SELECT b.line_id, b.currency, b.amount_minor, b.bank_ref, b.effective_date, s.format = ANY($2::text[]) AS intraday
           FROM bank_open_items o JOIN bank_items b USING (item_ref) JOIN statements s ON s.file_id = b.file_id AND s.statement_id = b.statement_id
          WHERE o.bank_account = $1 AND b.bank_ref IS NOT NULL),
       others AS MATERIALIZED (
         SELECT b.line_id, b.currency, b.amount_minor, b.bank_ref, b.effective_date,
                NOT EXISTS (SELECT 1 FROM bank_open_items o WHERE o.item_ref = b.item_ref) AS matched,
                s.format = ANY($2::text[]) AS intraday
           FROM (SELECT DISTINCT effective_date FROM open_lines) AS d
           JOIN bank_items b ON b.bank_account = $1 AND b.effective_date = d.effective_date
           JOIN statements s ON s.file_id = b.file_id AND s.statement_id = b.statement_id
           LEFT JOIN bank_item_matches x ON x.item_ref = b.item_ref
           LEFT JOIN matches m ON m.match_id = x.match_id
          WHERE b.bank_ref IS NOT NULL AND (m.match_id IS NULL OR (m.undone_at IS NULL AND m.rule <> ALL($3::text[])))
            AND NOT EXISTS (SELECT 1 FROM intraday_confirmations c WHERE c.intraday_line_id = b.line_id)
            AND NOT EXISTS (SELECT 1 FROM intraday_confirmations c WHERE c.statement_line_id = b.line_id))
       SELECT o.line_id::text AS line_id, o.intraday, p.line_id::text AS partner_line_id, p.matched AS partner_matched
         FROM open_lines o
         JOIN others p ON p.effective_date = o.effective_date AND p.currency = o.currency AND p.amount_minor = o.amount_minor
                      AND p.bank_ref = o.bank_ref AND p.intraday <> o.intraday
        WHERE NOT EXISTS (SELECT 1 FROM intraday_confirmations c WHERE c.intraday_line_id = o.line_id)
          AND NOT EXISTS (SELECT 1 FROM intraday_confirmations c WHERE c.statement_line_id = o.line_id)`,
      [bankAccount, INTRADAY_FORMATS, [WITHDRAWN_RULE, INTRADAY_CONFIRMED_RULE]],
    );
    const pairs = pairIntradayLines(candidates);
    if (pairs.length === 0) return 0;
    // Locked, and still open: continuous matching may have paired one meanwhile (its pair is then left for later).
    const withdrawable = await queryRows<{ line_id: string; item_ref: string; break_id: string | null }>(
      executor,
      `SELECT b.line_id::text, b.item_ref, b.break_id::text FROM bank_items b JOIN bank_open_items o USING (item_ref)
        WHERE b.line_id = ANY($1::uuid[]) ORDER BY b.line_id FOR UPDATE OF o`,
      [pairs.map((pair) => pair.withdrawnLineId)],
    );
    const lineOf = new Map(withdrawable.map((row) => [row.line_id, row]));
    const applied = pairs.filter((pair) => lineOf.has(pair.withdrawnLineId));
    if (applied.length === 0) return 0;
    const now = this.clock.now();
    const matchIds = applied.map(() => this.ids.uuid());
    const withdrawn = applied.map((pair) => lineOf.get(pair.withdrawnLineId)!);
    await executor.query(
      `WITH recorded AS (
         INSERT INTO matches (match_id, rule, ledger_ids, bank_ids, run_id, matched_at)
         SELECT t.match_id, $3, '{}'::text[], ARRAY[t.item_ref], $4, $5 FROM unnest($1::uuid[], $2::text[]) AS t (match_id, item_ref)
         RETURNING match_id, bank_ids[1] AS item_ref),
       closed AS (DELETE FROM bank_open_items o USING recorded r WHERE o.item_ref = r.item_ref RETURNING r.item_ref, r.match_id)
       INSERT INTO bank_item_matches (item_ref, match_id) SELECT item_ref, match_id FROM closed`,
      [matchIds, withdrawn.map((line) => line.item_ref), INTRADAY_CONFIRMED_RULE, runId ?? null, now],
    );
    const closedBreaks = new Map<string, string>();
    for (const line of withdrawn) {
      if (line.break_id === null) continue;
      const pair = applied.find((candidate) => candidate.withdrawnLineId === line.line_id)!;
      const closed = await this.breaks.close(executor, line.break_id, {
        status: 'closed',
        resolutionCode: INTRADAY_CONFIRMED_RESOLUTION,
        note: `the same movement as bank line ${pair.intradayLineId === line.line_id ? pair.statementLineId : pair.intradayLineId} (intraday report and end-of-day statement)`,
        actor: SERVICE_ACTOR,
      });
      if (!closed) continue;
      closedBreaks.set(line.line_id, line.break_id);
      await releaseOtherItemsOfBreak(executor, line.break_id, [line.line_id]);
    }
    await executor.query(
      `INSERT INTO intraday_confirmations (intraday_line_id, statement_line_id, withdrawn_line_id, withdrawal_match_id, closed_break_id, run_id, confirmed_at)
       SELECT * , $6::uuid, $7::timestamptz FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[])`,
      [
        applied.map((pair) => pair.intradayLineId),
        applied.map((pair) => pair.statementLineId),
        applied.map((pair) => pair.withdrawnLineId),
        matchIds,
        applied.map((pair) => closedBreaks.get(pair.withdrawnLineId) ?? null),
        runId ?? null,
        now,
      ],
    );
    await this.audit.record(executor, {
      actor: SERVICE_ACTOR,
      role: 'service',
      action: 'bank-line.confirm-intraday',
      entity: { type: 'bank_account', id: bankAccount },
      details: {
        count: applied.length,
        pairs: applied.slice(0, AUDITED_PAIRS_MAX).map((pair) => ({
          intradayLineId: pair.intradayLineId,
          statementLineId: pair.statementLineId,
          withdrawnLineId: pair.withdrawnLineId,
        })),
        closedBreaks: [...closedBreaks.values()].slice(0, AUDITED_PAIRS_MAX),
        ...(runId === undefined ? {} : { runId }),
      },
    });
    return applied.length;
  }
}
