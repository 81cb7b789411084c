import { createHash } from 'node:crypto';
import type { Actor } from '@recon/auth';
import type { Role } from '@recon/config';
import {
  BANK_LINE_REJECTED_V1,
  BANK_LINE_REJECTION_RESOLVED_V1,
  bankLineReceivedV1Schema,
  bankStatementReceivedV1Schema,
  REJECTED_RAW_LENGTH_MAX,
} from '@recon/contracts';
import { enqueueEvents, type OutgoingEvent } from '@recon/messaging';
import { isCurrencyCode, minorDigitsOf, parseDecimalToMinor } from '@recon/money';
import type { AuditRecorder, Clock, IdGenerator } from '@recon/platform';
import { queryRows, type SqlExecutor } from '@recon/persistence';
import {
  type CanonicalRecord,
  type EncodingOption,
  type EntryRecord,
  type FormatOption,
  parseStatementBytes,
  type StatementRecord,
  UnreadableStatementError,
} from '@recon/statement-formats';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { CopyRowWriter, jsonWithoutNul } from '../infrastructure/copy-text';
import { type StatementIdentity, statementIdentityOf, statementLockKeyOf } from '../domain/statement-identity';

/** Statements per file: a day's statement file has a few per account; more is a broken or hostile file. */
export const STATEMENTS_PER_FILE_MAX = 100_000;
/** Events per enqueueEvents call: one INSERT each, well under the outbox's own limit. */
export const EVENTS_PER_ENQUEUE_MAX = 5_000;
/** Line numbers listed in the audit event of a quarantine; the count is always complete. */
export const AUDITED_LINE_NUMBERS_MAX = 100;
const QUARANTINE_RAW_LENGTH_MAX = 10_000;
const REASON_LENGTH_MAX = 2_000;

export interface LoadContext {
  readonly fileId: string;
  readonly sha256: string;
  readonly content: Buffer;
  readonly format: FormatOption;
  readonly encoding: EncodingOption;
  readonly connectionId: string | undefined;
  /** The connection's custody account: a statement of another account arriving over it is held under a finding. */
  readonly expectedAccount?: string;
  readonly actor: Actor;
  readonly role: Role | undefined;
  /** The file's receipt time: `receivedAt` of its events. */
  readonly receivedAt: Date;
  /** A third-party adapter's parse (BankAdapter.parse); the statement-formats library when absent. */
  readonly parse?: (content: Buffer, options: { format: FormatOption; encoding: EncodingOption }) => AsyncIterable<CanonicalRecord>;
}

/**
 * `conflicting_statement`: a second file (other bytes) claims a statement another file delivered.
 * `unexpected_account`: a connection delivered a statement of an account other than its custody account.
 */
export type FindingKind = 'conflicting_statement' | 'unexpected_account';

export interface FindingView {
  readonly findingId: string;
  readonly kind: FindingKind;
  readonly fileId: string;
  readonly otherFileId?: string;
  readonly account: string;
  readonly statementId: string;
  readonly sequence?: string;
  readonly message: string;
  readonly raisedAt: string;
}

export interface ParseSummary {
  readonly parseId: string;
  readonly format?: string;
  readonly unreadableReason?: string;
  readonly statements: number;
  /** Lines new in this parse, published as bank.line.received. */
  readonly accepted: number;
  /** Lines already stored (same identity): not stored or published again. */
  readonly duplicates: number;
  /** Lines of a statement another file already delivered: stored, held under a finding, not published. */
  readonly held: number;
  readonly rejected: number;
  /** Quarantined lines of earlier parses of this file that parse now. */
  readonly resolved: number;
  readonly findings: readonly FindingView[];
}

export interface LoaderDependencies {
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly audit: AuditRecorder;
}

interface StatementSlot {
  readonly record: StatementRecord;
  /** Why the header itself is refused (breaks the event contract); its entries are quarantined with it. */
  readonly invalidReason: string | undefined;
}

const STAGING_DDL = `CREATE TEMP TABLE line_staging (
  ordinal bigint NOT NULL, kind text NOT NULL, statement_ordinal integer, line_id uuid NOT NULL, line_no integer NOT NULL,
  amount_minor numeric(38, 0), currency text, booking_date date, value_date date, bank_ref text,
  reason text, raw text, record jsonb
) ON COMMIT DROP`;
const STAGING_COLUMNS = 'ordinal, kind, statement_ordinal, line_id, line_no, amount_minor, currency, booking_date, value_date, bank_ref, reason, raw, record';

/**
 * Parses one stored raw file into statements, lines and quarantine rows, inside the caller's transaction on a raw
 * pg client. Parsed rows stream through COPY into an unindexed temporary staging table (fast, flat memory), then
 * move into the indexed tables with one INSERT ... SELECT each, where the line identity index drops duplicates.
 * The outbox events (bank.statement.received for each new statement, bank.line.received for each new line) and
 * the audit events are written in the same transaction, so the lines exist if and only if their events do.
 */
export async function loadStatementFile(client: PoolClient, deps: LoaderDependencies, context: LoadContext): Promise<ParseSummary> {
  const executor: SqlExecutor = client;
  const parseId = deps.ids.uuid();
  const now = deps.clock.now();
  await client.query(
    `INSERT INTO file_parses (parse_id, file_id, requested_format, requested_encoding, statement_count, accepted_count, duplicate_count, held_count, rejected_count, parsed_at, parsed_by)
     VALUES ($1, $2, $3, $4, 0, 0, 0, 0, 0, $5, $6)`,
    [parseId, context.fileId, context.format, context.encoding, now, context.actor.id],
  );
  await client.query('DROP TABLE IF EXISTS line_staging');
  await client.query(STAGING_DDL);

  const statements: StatementSlot[] = [];
  let detectedFormat: string | undefined;
  let unreadableReason: string | undefined;
  const writer = new CopyRowWriter(client.query(copyFrom(`COPY line_staging (${STAGING_COLUMNS}) FROM STDIN`)));
  try {
    const byStatementId = new Map<string, number>();
    let current: number | undefined;
    const reject = (lineNo: number, reason: string, raw: string, statementOrdinal: number | undefined) =>
      writer.write([
        writer.rowCount,
        'rejected',
        statementOrdinal ?? null,
        deps.ids.uuid(),
        lineNo,
        null,
        null,
        null,
        null,
        null,
        reason.slice(0, REASON_LENGTH_MAX),
        raw.slice(0, QUARANTINE_RAW_LENGTH_MAX),
        null,
      ]);
    try {
      const options = { format: context.format, encoding: context.encoding };
      for await (const record of context.parse === undefined ? parseStatementBytes(context.content, options) : context.parse(context.content, options)) {
        if (record.kind === 'statement') {
          if (statements.length >= STATEMENTS_PER_FILE_MAX)
            throw new UnreadableStatementError(`the file holds more than ${STATEMENTS_PER_FILE_MAX} statements`);
          detectedFormat ??= record.format;
          current = statements.length;
          const invalidReason = statementContractProblem(record, context);
          statements.push({ record, invalidReason });
          byStatementId.set(record.statementId, current);
          // A refused header is quarantined itself (line 0: headers have no line number), so that a statement without
          // entries cannot vanish either; its entries follow it into quarantine with the same reason.
          if (invalidReason !== undefined)
            await reject(0, `statement header '${record.statementId.slice(0, 140)}' refused: ${invalidReason}`, JSON.stringify(record), current);
        } else if (record.kind === 'entry') {
          const ordinal = byStatementId.get(record.statementId);
          const slot = ordinal === undefined ? undefined : statements[ordinal];
          if (ordinal === undefined || slot === undefined) {
            await reject(
              record.lineNo,
              `entry of statement '${record.statementId}', which has no statement header before it`,
              JSON.stringify(record),
              undefined,
            );
            continue;
          }
          if (slot.invalidReason !== undefined) {
            await reject(record.lineNo, `its statement header was refused: ${slot.invalidReason}`, JSON.stringify(record), ordinal);
            continue;
          }
          const problem = lineContractProblem(record, slot.record, context);
          if (problem !== undefined) {
            await reject(record.lineNo, `entry breaks the bank.line.received contract: ${problem}`, JSON.stringify(record), ordinal);
            continue;
          }
          await writer.write([
            writer.rowCount,
            'entry',
            ordinal,
            deps.ids.uuid(),
            record.lineNo,
            parseDecimalToMinor(record.amount, minorDigitsOf(record.currency)),
            record.currency,
            record.bookingDate,
            record.valueDate,
            record.bankRef,
            null,
            null,
            jsonWithoutNul(record),
          ]);
        } else if (record.kind === 'rejected' && Number.isInteger(record.lineNo) && record.lineNo >= 0 && typeof record.reason === 'string') {
          await reject(record.lineNo, record.reason || 'rejected (no reason given)', String(record.raw ?? ''), current);
        } else {
          // Only a third-party adapter's parse can get here: keep what it gave, for a person to see.
          const odd = record as { kind?: unknown; lineNo?: unknown };
          const lineNo = Number.isInteger(odd.lineNo) && (odd.lineNo as number) >= 0 ? (odd.lineNo as number) : 0;
          await reject(lineNo, `the adapter yielded a record that is not canonical (kind ${JSON.stringify(odd.kind)})`, JSON.stringify(record) ?? '', current);
        }
      }
    } catch (error) {
      if (!(error instanceof UnreadableStatementError)) throw error;
      unreadableReason = error.message;
    }
    await writer.end();
  } catch (error) {
    writer.abort(error);
    throw error;
  }

  if (unreadableReason !== undefined) {
    // A file unreadable as a whole gives no lines at all: half a statement would look like missing money.
    await client.query('TRUNCATE line_staging');
    statements.length = 0;
  }

  const findings: FindingView[] = [];
  const newStatements: { ordinal: number; statementPk: string }[] = [];
  await client.query('DROP TABLE IF EXISTS statement_map');
  await client.query(
    'CREATE TEMP TABLE statement_map (ordinal integer PRIMARY KEY, statement_pk uuid NOT NULL, account text NOT NULL, statement_id text NOT NULL, sequence_key text NOT NULL, held_finding_id uuid) ON COMMIT DROP',
  );
  // All statement locks first, in one global order: two files naming the same statements in another order must
  // not deadlock.
  const lockKeys = [
    ...new Set(statements.filter((slot) => slot.invalidReason === undefined).map((slot) => statementLockKeyOf(statementIdentityOf(slot.record)))),
  ].sort();
  for (const key of lockKeys) await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
  for (const [ordinal, slot] of statements.entries()) {
    if (slot.invalidReason !== undefined) continue;
    const resolved = await resolveStatement(client, deps, context, parseId, slot.record, now);
    if (resolved.finding !== undefined) findings.push(resolved.finding);
    if (resolved.created && resolved.heldFindingId === undefined) newStatements.push({ ordinal, statementPk: resolved.statementPk });
    const identity = statementIdentityOf(slot.record);
    await client.query('INSERT INTO statement_map VALUES ($1, $2, $3, $4, $5, $6)', [
      ordinal,
      resolved.statementPk,
      identity.account,
      identity.statementId,
      identity.sequenceKey,
      resolved.heldFindingId ?? null,
    ]);
  }

  const [moved] = await queryRows<{ staged: string; accepted: string; held: string }>(
    executor,
    `WITH moved AS (
       INSERT INTO statement_lines (line_id, file_id, parse_id, statement_pk, account, statement_id, sequence_key, line_no, amount_minor, currency, booking_date, value_date, bank_ref, record, held_finding_id, received_at)
       SELECT s.line_id, $1, $2, m.statement_pk, m.account, m.statement_id, m.sequence_key, s.line_no, s.amount_minor, s.currency, s.booking_date, s.value_date, s.bank_ref, s.record, m.held_finding_id, $3
         FROM line_staging s JOIN statement_map m ON m.ordinal = s.statement_ordinal
        WHERE s.kind = 'entry'
          -- A line of this very file stored by an earlier parse (reprocess, maybe with another CSV profile and so
          -- another statement id) is the same line: the line number within one file identifies it.
          AND NOT EXISTS (SELECT 1 FROM statement_lines x WHERE x.file_id = $1 AND x.line_no = s.line_no)
        ORDER BY s.ordinal
       ON CONFLICT DO NOTHING
       RETURNING held_finding_id)
     SELECT (SELECT count(*) FROM line_staging WHERE kind = 'entry') AS staged,
            count(*) FILTER (WHERE held_finding_id IS NULL) AS accepted,
            count(*) FILTER (WHERE held_finding_id IS NOT NULL) AS held
       FROM moved`,
    [context.fileId, parseId, context.receivedAt],
  );
  const staged = Number(moved?.staged ?? 0);
  const accepted = Number(moved?.accepted ?? 0);
  const held = Number(moved?.held ?? 0);

  // The statement each rejected line sat in (when its header was read), else the connection's custody account: what
  // bank.line.rejected tells reconciliation about where the unknown amount belongs.
  const contexts = statements.map((slot, ordinal) => ({ ordinal, ...rejectionContextOf(slot.record) }));
  const quarantined = await queryRows<{ line_no: number }>(
    executor,
    `INSERT INTO quarantine (quarantine_id, file_id, parse_id, connection_id, line_no, reason, raw, quarantined_at, account, statement_id, currency)
     SELECT s.line_id, $1, $2, $3, s.line_no, s.reason, s.raw, $4, coalesce(c.account, $9), c.statement_id, c.currency
       FROM line_staging s
       LEFT JOIN unnest($5::int[], $6::text[], $7::text[], $8::text[]) AS c (ordinal, account, statement_id, currency) ON c.ordinal = s.statement_ordinal
      WHERE s.kind = 'rejected' ORDER BY s.ordinal
     ON CONFLICT DO NOTHING
     RETURNING line_no`,
    [
      context.fileId,
      parseId,
      context.connectionId ?? null,
      now,
      contexts.map((row) => row.ordinal),
      contexts.map((row) => row.account ?? null),
      contexts.map((row) => row.statementId ?? null),
      contexts.map((row) => row.currency ?? null),
      context.expectedAccount !== undefined && context.expectedAccount.length <= ACCOUNT_LENGTH_MAX ? context.expectedAccount : null,
    ],
  );
  const [rejectedRow] = await queryRows<{ count: string }>(executor, `SELECT count(*) FROM line_staging WHERE kind = 'rejected'`);
  const rejected = Number(rejectedRow?.count ?? 0);

  // Lines an earlier parse of this file quarantined and this one reads: the quarantine row is resolved.
  const resolvedRows =
    unreadableReason !== undefined
      ? []
      : await queryRows<{ quarantine_id: string; line_no: number }>(
          executor,
          `UPDATE quarantine q SET resolved_at = $3, resolved_by_parse_id = $2
             FROM (SELECT line_no FROM line_staging WHERE kind = 'entry' EXCEPT SELECT line_no FROM line_staging WHERE kind = 'rejected') ok
            WHERE q.file_id = $1 AND q.resolved_at IS NULL AND q.parse_id <> $2 AND q.line_no = ok.line_no
           RETURNING q.quarantine_id, q.line_no`,
          [context.fileId, parseId, now],
        );

  await enqueueStatementEvents(client, context, parseId, newStatements, statements);
  await enqueueLineEvents(client, context, parseId);
  if (quarantined.length > 0) await enqueueRejectionEvents(client, context, parseId);
  await enqueueRejectionResolvedEvents(client, deps, context, parseId, resolvedRows, now);
  // Held statements are published later (accept_new): keep their quarantine count for that event.
  await client.query(
    `UPDATE statements st SET rejected_count = coalesce(c.rejected, 0)
       FROM statement_map m LEFT JOIN (SELECT statement_ordinal, count(*)::int AS rejected FROM line_staging WHERE kind = 'rejected' GROUP BY statement_ordinal) c
         ON c.statement_ordinal = m.ordinal
      WHERE st.statement_pk = m.statement_pk AND st.rejected_count IS NULL`,
  );

  await client.query(
    `UPDATE file_parses SET format = $2, unreadable_reason = $3, statement_count = $4, accepted_count = $5, duplicate_count = $6, held_count = $7, rejected_count = $8 WHERE parse_id = $1`,
    [
      parseId,
      detectedFormat ?? null,
      unreadableReason?.slice(0, REASON_LENGTH_MAX) ?? null,
      statements.length,
      accepted,
      staged - accepted - held,
      held,
      rejected,
    ],
  );

  const summary: ParseSummary = {
    parseId,
    ...(detectedFormat === undefined ? {} : { format: detectedFormat }),
    ...(unreadableReason === undefined ? {} : { unreadableReason }),
    statements: statements.length,
    accepted,
    duplicates: staged - accepted - held,
    held,
    rejected,
    resolved: resolvedRows.length,
    findings,
  };
  if (quarantined.length > 0) {
    await deps.audit.record(executor, {
      actor: context.actor,
      role: context.role,
      action: 'quarantine.add',
      entity: { type: 'raw_file', id: context.fileId },
      details: { parseId, count: quarantined.length, lineNumbers: quarantined.slice(0, AUDITED_LINE_NUMBERS_MAX).map((row) => row.line_no) },
    });
  }
  if (resolvedRows.length > 0) {
    await deps.audit.record(executor, {
      actor: context.actor,
      role: context.role,
      action: 'quarantine.resolve',
      entity: { type: 'raw_file', id: context.fileId },
      details: { parseId, count: resolvedRows.length, lineNumbers: resolvedRows.slice(0, AUDITED_LINE_NUMBERS_MAX).map((row) => row.line_no) },
    });
  }
  if (unreadableReason !== undefined) {
    await deps.audit.record(executor, {
      actor: context.actor,
      role: context.role,
      action: 'file.unreadable',
      entity: { type: 'raw_file', id: context.fileId },
      details: { parseId, reason: unreadableReason.slice(0, REASON_LENGTH_MAX), format: context.format, encoding: context.encoding },
    });
  }
  return summary;
}

interface ResolvedStatement {
  readonly statementPk: string;
  readonly created: boolean;
  readonly heldFindingId?: string;
  readonly finding?: FindingView;
}

/**
 * The statement row a parsed header belongs to. Its own earlier row when this file was parsed before; a new row
 * when nobody delivered this statement yet; otherwise another file already owns (account, statement id, sequence):
 * that is a finding for a person to review, never a silent overwrite, and this file's copy is stored held.
 */
async function resolveStatement(
  client: PoolClient,
  deps: LoaderDependencies,
  context: LoadContext,
  parseId: string,
  record: StatementRecord,
  now: Date,
): Promise<ResolvedStatement> {
  const identity = statementIdentityOf(record);
  const [own] = await queryRows<{ statement_pk: string; held_finding_id: string | null }>(
    client,
    // A statement of this file retracted by an accept_new: lines a reprocess finds in it now are held under that
    // finding (never published: another version replaced the statement).
    'SELECT statement_pk, coalesce(held_finding_id, retracted_by_finding_id) AS held_finding_id FROM statements WHERE file_id = $1 AND account = $2 AND statement_id = $3 AND sequence_key = $4',
    [context.fileId, identity.account, identity.statementId, identity.sequenceKey],
  );
  if (own !== undefined)
    return { statementPk: own.statement_pk, created: false, ...(own.held_finding_id === null ? {} : { heldFindingId: own.held_finding_id }) };
  const [owner] = await queryRows<{ file_id: string }>(
    client,
    'SELECT file_id FROM statements WHERE account = $1 AND statement_id = $2 AND sequence_key = $3 AND held_finding_id IS NULL AND retracted_by_finding_id IS NULL',
    [identity.account, identity.statementId, identity.sequenceKey],
  );
  const statementPk = deps.ids.uuid();
  const base = {
    findingId: deps.ids.uuid(),
    fileId: context.fileId,
    account: identity.account,
    statementId: identity.statementId,
    ...(record.sequence === undefined ? {} : { sequence: record.sequence }),
    raisedAt: now.toISOString(),
  };
  let finding: FindingView | undefined;
  if (owner !== undefined) {
    finding = { ...base, kind: 'conflicting_statement', otherFileId: owner.file_id, message: conflictMessage(identity, owner.file_id) };
  } else if (context.expectedAccount !== undefined && normalisedAccount(context.expectedAccount) !== normalisedAccount(identity.account)) {
    finding = {
      ...base,
      kind: 'unexpected_account',
      message: `statement ${identity.statementId} is for account ${identity.account}, but the connection serves ${context.expectedAccount}; its lines are held for review`,
    };
  }
  if (finding !== undefined) await raiseFinding(client, deps, context, parseId, finding);
  await client.query(
    `INSERT INTO statements (statement_pk, file_id, account, statement_id, sequence_key, format, currency, record, held_finding_id, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      statementPk,
      context.fileId,
      identity.account,
      identity.statementId,
      identity.sequenceKey,
      record.format,
      record.currency,
      jsonWithoutNul(record),
      finding?.findingId ?? null,
      context.receivedAt,
    ],
  );
  return { statementPk, created: true, ...(finding === undefined ? {} : { heldFindingId: finding.findingId, finding }) };
}

async function raiseFinding(client: PoolClient, deps: LoaderDependencies, context: LoadContext, parseId: string, finding: FindingView): Promise<void> {
  await client.query(
    `INSERT INTO findings (finding_id, kind, file_id, other_file_id, connection_id, account, statement_id, sequence, message, raised_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      finding.findingId,
      finding.kind,
      finding.fileId,
      finding.otherFileId ?? null,
      context.connectionId ?? null,
      finding.account,
      finding.statementId,
      finding.sequence ?? null,
      finding.message,
      finding.raisedAt,
    ],
  );
  await deps.audit.record(client, {
    actor: context.actor,
    role: context.role,
    action: 'finding.raise',
    entity: { type: 'finding', id: finding.findingId },
    after: finding,
    details: {
      kind: finding.kind,
      fileId: finding.fileId,
      ...(finding.otherFileId === undefined ? {} : { otherFileId: finding.otherFileId }),
      ...(context.connectionId === undefined ? {} : { connectionId: context.connectionId }),
      account: finding.account,
      statementId: finding.statementId,
      parseId,
    },
  });
}

/** IBANs are printed in groups of four and in either case; the comparison ignores both. */
function normalisedAccount(account: string): string {
  return account.replace(/\s+/g, '').toUpperCase();
}

function conflictMessage(identity: StatementIdentity, otherFileId: string): string {
  const sequence = identity.sequenceKey === '' ? '' : ` sequence ${identity.sequenceKey}`;
  return `statement ${identity.statementId}${sequence} of account ${identity.account} was already delivered by file ${otherFileId} with other content; this file's lines are held for review`;
}

async function enqueueStatementEvents(
  client: PoolClient,
  context: LoadContext,
  parseId: string,
  created: readonly { ordinal: number; statementPk: string }[],
  statements: readonly StatementSlot[],
): Promise<void> {
  if (created.length === 0) return;
  const counts = await queryRows<{ statement_ordinal: number; entries: string; rejected: string }>(
    client,
    `SELECT s.statement_ordinal,
            count(*) FILTER (WHERE s.kind = 'entry' AND l.line_id IS NOT NULL) AS entries,
            count(*) FILTER (WHERE s.kind = 'rejected') AS rejected
       FROM line_staging s LEFT JOIN statement_lines l ON l.line_id = s.line_id AND l.parse_id = $1
      WHERE s.statement_ordinal IS NOT NULL
      GROUP BY s.statement_ordinal`,
    [parseId],
  );
  const countByOrdinal = new Map(counts.map((row) => [row.statement_ordinal, row]));
  const events: OutgoingEvent[] = created.map(({ ordinal, statementPk }) => {
    const { kind: _kind, ...record } = statements[ordinal]!.record;
    const count = countByOrdinal.get(ordinal);
    return {
      messageId: statementPk,
      subject: 'bank.statement.received',
      schemaVersion: 1,
      payload: {
        ...record,
        fileId: context.fileId,
        receivedAt: context.receivedAt.toISOString(),
        fileSha256: context.sha256,
        entryCount: Number(count?.entries ?? 0),
        rejectedCount: Number(count?.rejected ?? 0),
      },
    };
  });
  for (let start = 0; start < events.length; start += EVENTS_PER_ENQUEUE_MAX) await enqueueEvents(client, events.slice(start, start + EVENTS_PER_ENQUEUE_MAX));
}

/** bank.line.received for the lines this parse added, read back in pages so memory stays flat. */
async function enqueueLineEvents(client: PoolClient, context: LoadContext, parseId: string): Promise<void> {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows = await queryRows<{ line_id: string; account: string; record: EntryRecord }>(
      client,
      `SELECT line_id, account, record FROM statement_lines WHERE parse_id = $1 AND held_finding_id IS NULL AND line_id > $2 ORDER BY line_id LIMIT ${EVENTS_PER_ENQUEUE_MAX}`,
      [parseId, after],
    );
    if (rows.length === 0) return;
    await enqueueEvents(
      client,
      rows.map((row) => ({
        messageId: row.line_id,
        subject: 'bank.line.received',
        schemaVersion: 1,
        payload: linePayloadOf(row.record, context, row.line_id, row.account),
      })),
    );
    after = rows.at(-1)!.line_id;
  }
}

function linePayloadOf(entry: EntryRecord, context: LoadContext, lineId: string, account: string) {
  const { kind: _kind, ...fields } = entry;
  return { ...fields, fileId: context.fileId, lineId, account, receivedAt: context.receivedAt.toISOString() };
}

/** bank.line.rejected for this parse's new quarantine rows, read back in pages so memory stays flat. */
async function enqueueRejectionEvents(client: PoolClient, context: LoadContext, parseId: string): Promise<void> {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows = await queryRows<{
      quarantine_id: string;
      line_no: number;
      reason: string;
      raw: string;
      account: string | null;
      statement_id: string | null;
      currency: string | null;
      quarantined_at: Date;
    }>(
      client,
      `SELECT quarantine_id, line_no, reason, left(raw, ${REJECTED_RAW_LENGTH_MAX}) AS raw, account, statement_id, currency, quarantined_at
         FROM quarantine WHERE parse_id = $1 AND quarantine_id > $2 ORDER BY quarantine_id LIMIT ${EVENTS_PER_ENQUEUE_MAX}`,
      [parseId, after],
    );
    if (rows.length === 0) return;
    await enqueueEvents(
      client,
      rows.map((row) => ({
        messageId: row.quarantine_id,
        subject: BANK_LINE_REJECTED_V1.subject,
        schemaVersion: BANK_LINE_REJECTED_V1.schemaVersion,
        payload: {
          quarantineId: row.quarantine_id,
          fileId: context.fileId,
          parseId,
          lineNo: row.line_no,
          reason: clipUnits(withoutNul(row.reason), REASON_LENGTH_MAX),
          raw: clipUnits(withoutNul(row.raw), REJECTED_RAW_LENGTH_MAX),
          ...(row.account === null ? {} : { account: row.account }),
          ...(row.currency === null ? {} : { currency: row.currency }),
          ...(row.statement_id === null ? {} : { statementId: row.statement_id }),
          ...(context.connectionId === undefined ? {} : { connectionId: context.connectionId }),
          rejectedAt: row.quarantined_at.toISOString(),
        },
      })),
    );
    after = rows.at(-1)!.quarantine_id;
  }
}

async function enqueueRejectionResolvedEvents(
  client: PoolClient,
  deps: LoaderDependencies,
  context: LoadContext,
  parseId: string,
  resolved: readonly { quarantine_id: string; line_no: number }[],
  now: Date,
): Promise<void> {
  for (let start = 0; start < resolved.length; start += EVENTS_PER_ENQUEUE_MAX) {
    await enqueueEvents(
      client,
      resolved.slice(start, start + EVENTS_PER_ENQUEUE_MAX).map((row) => ({
        // A quarantine row is resolved once (the UPDATE takes only open rows): one event each.
        messageId: deps.ids.uuid(),
        subject: BANK_LINE_REJECTION_RESOLVED_V1.subject,
        schemaVersion: BANK_LINE_REJECTION_RESOLVED_V1.schemaVersion,
        payload: { quarantineId: row.quarantine_id, fileId: context.fileId, lineNo: row.line_no, resolvedByParseId: parseId, resolvedAt: now.toISOString() },
      })),
    );
  }
}

const ACCOUNT_LENGTH_MAX = 64;
const STATEMENT_ID_LENGTH_MAX = 140;

/** Where a rejected line of this statement belongs, as far as the (possibly refused) header says it validly. */
function rejectionContextOf(record: StatementRecord): { account?: string; statementId?: string; currency?: string } {
  const account = typeof record.account === 'string' && record.account.length > 0 && record.account.length <= ACCOUNT_LENGTH_MAX ? record.account : undefined;
  const statementId =
    typeof record.statementId === 'string' && record.statementId.length > 0 && record.statementId.length <= STATEMENT_ID_LENGTH_MAX
      ? record.statementId
      : undefined;
  const currency = typeof record.currency === 'string' && isCurrencyCode(record.currency) ? record.currency : undefined;
  return {
    ...(account === undefined ? {} : { account: withoutNul(account) }),
    ...(statementId === undefined ? {} : { statementId: withoutNul(statementId) }),
    ...(currency === undefined ? {} : { currency }),
  };
}

/**
 * Postgres counts characters, the contracts count UTF-16 code units: a text of astral characters (emoji, rare CJK) is
 * clipped to `max` units here, never between the two halves of a pair (jsonb refuses a lone surrogate).
 */
function clipUnits(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return text.slice(0, end);
}

/** jsonb (the outbox) refuses U+0000. */
function withoutNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

const PLACEHOLDER_ID = '00000000-0000-4000-8000-000000000000';

/** Checked while parsing, so one odd line is quarantined instead of failing the whole file at enqueue time. */
function lineContractProblem(entry: EntryRecord, statement: StatementRecord, context: LoadContext): string | undefined {
  const result = bankLineReceivedV1Schema.safeParse(linePayloadOf(entry, context, PLACEHOLDER_ID, statement.account));
  return result.success ? undefined : issuesText(result.error.issues);
}

function statementContractProblem(record: StatementRecord, context: LoadContext): string | undefined {
  const { kind: _kind, ...fields } = record;
  const result = bankStatementReceivedV1Schema.safeParse({
    ...fields,
    fileId: context.fileId,
    receivedAt: context.receivedAt.toISOString(),
    fileSha256: context.sha256,
    entryCount: 0,
    rejectedCount: 0,
  });
  return result.success ? undefined : issuesText(result.error.issues);
}

function issuesText(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join('.') || '(record)'}: ${issue.message}`)
    .join('; ');
}

export function sha256Of(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}
