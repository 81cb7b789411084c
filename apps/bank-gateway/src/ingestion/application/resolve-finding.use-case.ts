import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Actor } from '@recon/auth';
import type { Role } from '@recon/config';
import { BANK_LINE_RECEIVED_V1, BANK_LINE_RETRACTED_V1, BANK_STATEMENT_RECEIVED_V1, RETRACTED_LINES_PER_EVENT_MAX } from '@recon/contracts';
import { enqueueEvents, type OutgoingEvent } from '@recon/messaging';
import { AuditRecorder, CLOCK, type Clock, TRANSACTIONS } from '@recon/platform';
import { queryRows, type SqlExecutor, type TransactionRunner } from '@recon/persistence';
import { z } from 'zod';
import { statementLockKeyOf } from '../domain/statement-identity';
import { EVENTS_PER_ENQUEUE_MAX } from './statement-loader';

export const REASON_LENGTH_MAX = 1_000;

export const resolveFindingSchema = z
  .object({
    /**
     * `dismissed`: the second delivery is wrong or irrelevant. `acknowledged`: understood and handled elsewhere (e.g.
     * with the bank); held lines stay held either way. `accept_new`: the held version is the right one: the earlier
     * version's lines are retracted (bank.line.retracted) and the held lines published (bank.line.received).
     */
    resolution: z.enum(['dismissed', 'acknowledged', 'accept_new']),
    reason: z.string().trim().min(1).max(REASON_LENGTH_MAX),
  })
  .strict();

export type ResolveFindingInput = z.output<typeof resolveFindingSchema>;

/** Who may close a finding without publishing anything, and who may publish a new version of money (four eyes: not integrators). */
export const CLOSING_ROLES: readonly Role[] = ['ops', 'integrator', 'admin'];
export const ACCEPTING_ROLES: readonly Role[] = ['approver', 'admin'];

export interface AcceptNewOutcome {
  /** The file whose version of the statement was retracted; absent when no other file had published it. */
  readonly retractedFileId?: string;
  readonly retractedLines: number;
  readonly releasedLines: number;
}

export type ResolveFindingResult =
  | {
      readonly ok: true;
      readonly findingId: string;
      readonly resolution: string;
      readonly resolvedAt: string;
      /** A retry of the same accept_new: nothing was done again. */
      readonly alreadyResolved: boolean;
      readonly acceptNew?: AcceptNewOutcome;
    }
  | {
      readonly ok: false;
      readonly code: 'FINDING.NOT_FOUND' | 'FINDING.ALREADY_RESOLVED' | 'FINDING.ROLE_REQUIRED' | 'FINDING.NOTHING_HELD';
      readonly message: string;
    };

interface FindingRow {
  kind: string;
  file_id: string;
  resolved_at: Date | null;
  resolution: string | null;
  retracted_file_id: string | null;
  retracted_count: number | null;
  released_count: number | null;
}

interface HeldStatementRow {
  statement_pk: string;
  file_id: string;
  account: string;
  statement_id: string;
  sequence_key: string;
  format: string;
  record: Record<string, unknown>;
  rejected_count: number | null;
  received_at: Date;
  sha256: string;
}

/**
 * Closes a finding after review, once. `dismissed` and `acknowledged` leave the held lines held and unpublished.
 * `accept_new` (approver or admin) makes the held version the statement of record, in one transaction with its
 * outbox and audit events: the lines the earlier version published are retracted (kept, marked, announced with
 * bank.line.retracted), and the held statement and lines are released (bank.statement.received and
 * bank.line.received under their own ids, which were never published). Retrying the same accept_new returns the
 * first outcome and changes nothing.
 */
@Injectable()
export class ResolveFindingUseCase {
  constructor(
    @Inject(TRANSACTIONS) private readonly transactions: TransactionRunner,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly audit: AuditRecorder,
  ) {}

  async execute(actor: Actor, role: Role | undefined, findingId: string, input: ResolveFindingInput): Promise<ResolveFindingResult> {
    const allowed = input.resolution === 'accept_new' ? ACCEPTING_ROLES : CLOSING_ROLES;
    const acting = actor.roles.find((candidate) => allowed.includes(candidate));
    if (acting === undefined) {
      return {
        ok: false,
        code: 'FINDING.ROLE_REQUIRED',
        message: `resolution ${input.resolution} needs role ${allowed.join(' or ')}; ${actor.id} has ${actor.roles.join(', ') || 'none'}`,
      };
    }
    const effective = role !== undefined && allowed.includes(role) ? role : acting;
    return this.transactions.transaction(async (executor) => {
      const [finding] = await queryRows<FindingRow>(
        executor,
        'SELECT kind, file_id, resolved_at, resolution, retracted_file_id, retracted_count, released_count FROM findings WHERE finding_id = $1 FOR UPDATE',
        [findingId],
      );
      if (finding === undefined) return { ok: false, code: 'FINDING.NOT_FOUND', message: `no finding ${findingId}` };
      if (finding.resolved_at !== null) {
        if (finding.resolution === 'accept_new' && input.resolution === 'accept_new') {
          return {
            ok: true,
            findingId,
            resolution: 'accept_new',
            resolvedAt: finding.resolved_at.toISOString(),
            alreadyResolved: true,
            acceptNew: {
              ...(finding.retracted_file_id === null ? {} : { retractedFileId: finding.retracted_file_id }),
              retractedLines: finding.retracted_count ?? 0,
              releasedLines: finding.released_count ?? 0,
            },
          };
        }
        return {
          ok: false,
          code: 'FINDING.ALREADY_RESOLVED',
          message: `finding ${findingId} was resolved (${finding.resolution ?? ''}) at ${finding.resolved_at.toISOString()}`,
        };
      }
      const resolvedAt = this.clock.now();
      let acceptNew: AcceptNewOutcome | undefined;
      if (input.resolution === 'accept_new') {
        const outcome = await this.acceptNew(executor, actor, findingId, input.reason, resolvedAt);
        if (!outcome.ok) return outcome;
        acceptNew = outcome.value;
      }
      await executor.query(
        `UPDATE findings SET resolved_at = $2, resolved_by = $3, resolution = $4, resolution_reason = $5, retracted_file_id = $6, retracted_count = $7, released_count = $8
          WHERE finding_id = $1`,
        [
          findingId,
          resolvedAt,
          actor.id,
          input.resolution,
          input.reason,
          acceptNew?.retractedFileId ?? null,
          acceptNew?.retractedLines ?? null,
          acceptNew?.releasedLines ?? null,
        ],
      );
      await this.audit.record(executor, {
        actor,
        role: effective,
        action: 'finding.resolve',
        entity: { type: 'finding', id: findingId },
        after: { findingId, resolution: input.resolution, reason: input.reason, ...(acceptNew === undefined ? {} : { acceptNew }) },
        details: {
          kind: finding.kind,
          fileId: finding.file_id,
          resolution: input.resolution,
          reason: input.reason,
          ...(acceptNew === undefined
            ? {}
            : {
                ...(acceptNew.retractedFileId === undefined ? {} : { retractedFileId: acceptNew.retractedFileId }),
                retractedLines: acceptNew.retractedLines,
                releasedLines: acceptNew.releasedLines,
              }),
        },
      });
      return {
        ok: true,
        findingId,
        resolution: input.resolution,
        resolvedAt: resolvedAt.toISOString(),
        alreadyResolved: false,
        ...(acceptNew === undefined ? {} : { acceptNew }),
      };
    });
  }

  private async acceptNew(
    executor: SqlExecutor,
    actor: Actor,
    findingId: string,
    reason: string,
    now: Date,
  ): Promise<{ ok: true; value: AcceptNewOutcome } | { ok: false; code: 'FINDING.NOTHING_HELD'; message: string }> {
    const held = await queryRows<HeldStatementRow>(
      executor,
      `SELECT s.statement_pk, s.file_id, s.account, s.statement_id, s.sequence_key, s.format, s.record, s.rejected_count, s.received_at, f.sha256
         FROM statements s JOIN raw_files f ON f.file_id = s.file_id
        WHERE s.held_finding_id = $1 ORDER BY s.statement_pk`,
      [findingId],
    );
    if (held.length === 0) return { ok: false, code: 'FINDING.NOTHING_HELD', message: `finding ${findingId} holds no statement to accept` };
    // The same locks, in the same order, as a file being loaded: a delivery of this statement racing with the
    // acceptance waits for it and then sees the new owner.
    const lockKeys = [
      ...new Set(held.map((row) => statementLockKeyOf({ account: row.account, statementId: row.statement_id, sequenceKey: row.sequence_key }))),
    ].sort();
    for (const key of lockKeys) await executor.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);

    let retractedFileId: string | undefined;
    let retractedLines = 0;
    let releasedLines = 0;
    for (const statement of held) {
      // The version of record today (it may not be the file the finding named, if another finding was accepted since).
      const [owner] = await queryRows<{ statement_pk: string; file_id: string }>(
        executor,
        `UPDATE statements SET retracted_by_finding_id = $4
          WHERE account = $1 AND statement_id = $2 AND sequence_key = $3 AND held_finding_id IS NULL AND retracted_by_finding_id IS NULL
          RETURNING statement_pk, file_id`,
        [statement.account, statement.statement_id, statement.sequence_key, findingId],
      );
      if (owner !== undefined) {
        retractedFileId ??= owner.file_id;
        retractedLines += await this.retractLines(executor, actor, findingId, reason, now, statement, owner);
      }
      releasedLines += await this.release(executor, findingId, statement);
    }
    return { ok: true, value: { ...(retractedFileId === undefined ? {} : { retractedFileId }), retractedLines, releasedLines } };
  }

  /** Marks the owner's published lines retracted and announces them, at most RETRACTED_LINES_PER_EVENT_MAX per event. */
  private async retractLines(
    executor: SqlExecutor,
    actor: Actor,
    findingId: string,
    reason: string,
    now: Date,
    replacement: HeldStatementRow,
    owner: { statement_pk: string; file_id: string },
  ): Promise<number> {
    const [marked] = await queryRows<{ count: string }>(
      executor,
      `WITH marked AS (
         UPDATE statement_lines SET retracted_by_finding_id = $2
          WHERE statement_pk = $1 AND held_finding_id IS NULL AND retracted_by_finding_id IS NULL RETURNING 1)
       SELECT count(*) FROM marked`,
      [owner.statement_pk, findingId],
    );
    const count = Number(marked?.count ?? 0);
    const parts = Math.max(1, Math.ceil(count / RETRACTED_LINES_PER_EVENT_MAX));
    const base = {
      findingId,
      fileId: owner.file_id,
      account: replacement.account,
      statementId: replacement.statement_id,
      ...(replacement.sequence_key === '' ? {} : { sequence: replacement.sequence_key }),
      parts,
      replacedByFileId: replacement.file_id,
      reason,
      retractedBy: actor.id,
      retractedAt: now.toISOString(),
    };
    let events: OutgoingEvent[] = [];
    let after = '00000000-0000-0000-0000-000000000000';
    for (let part = 1; part <= parts; part += 1) {
      const rows = await queryRows<{ line_id: string }>(
        executor,
        `SELECT line_id FROM statement_lines WHERE statement_pk = $1 AND retracted_by_finding_id = $2 AND line_id > $3 ORDER BY line_id LIMIT ${RETRACTED_LINES_PER_EVENT_MAX}`,
        [owner.statement_pk, findingId, after],
      );
      if (rows.length > 0) after = rows.at(-1)!.line_id;
      events.push({
        messageId: uuidOf(`bank.line.retracted:${findingId}:${owner.statement_pk}:${part}`),
        subject: BANK_LINE_RETRACTED_V1.subject,
        schemaVersion: BANK_LINE_RETRACTED_V1.schemaVersion,
        payload: { ...base, part, lineIds: rows.map((row) => row.line_id) },
      });
      if (events.length >= EVENTS_PER_ENQUEUE_MAX / 10) {
        await enqueueEvents(executor, events);
        events = [];
      }
    }
    await enqueueEvents(executor, events);
    return count;
  }

  /** Takes the held statement and its lines out of the hold and publishes them as a first delivery would. */
  private async release(executor: SqlExecutor, findingId: string, statement: HeldStatementRow): Promise<number> {
    await executor.query('UPDATE statements SET held_finding_id = NULL, released_by_finding_id = $2 WHERE statement_pk = $1', [
      statement.statement_pk,
      findingId,
    ]);
    const [released] = await queryRows<{ count: string }>(
      executor,
      `WITH released AS (
         UPDATE statement_lines SET held_finding_id = NULL, released_by_finding_id = $2 WHERE statement_pk = $1 AND held_finding_id = $2 RETURNING 1)
       SELECT count(*) FROM released`,
      [statement.statement_pk, findingId],
    );
    const count = Number(released?.count ?? 0);
    const { kind: _kind, ...header } = statement.record;
    await enqueueEvents(executor, [
      {
        messageId: statement.statement_pk,
        subject: BANK_STATEMENT_RECEIVED_V1.subject,
        schemaVersion: BANK_STATEMENT_RECEIVED_V1.schemaVersion,
        payload: {
          ...header,
          fileId: statement.file_id,
          receivedAt: statement.received_at.toISOString(),
          fileSha256: statement.sha256,
          entryCount: count,
          rejectedCount: statement.rejected_count ?? 0,
        },
      },
    ]);
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const rows = await queryRows<{ line_id: string; account: string; record: Record<string, unknown>; received_at: Date }>(
        executor,
        `SELECT line_id, account, record, received_at FROM statement_lines
          WHERE statement_pk = $1 AND released_by_finding_id = $2 AND line_id > $3 ORDER BY line_id LIMIT ${EVENTS_PER_ENQUEUE_MAX}`,
        [statement.statement_pk, findingId, after],
      );
      if (rows.length === 0) break;
      await enqueueEvents(
        executor,
        rows.map((row) => {
          const { kind: _entryKind, ...fields } = row.record;
          return {
            messageId: row.line_id,
            subject: BANK_LINE_RECEIVED_V1.subject,
            schemaVersion: BANK_LINE_RECEIVED_V1.schemaVersion,
            payload: { ...fields, fileId: statement.file_id, lineId: row.line_id, account: row.account, receivedAt: row.received_at.toISOString() },
          };
        }),
      );
      after = rows.at(-1)!.line_id;
    }
    return count;
  }
}

/** A stable UUID (version 8, from SHA-256) naming an event, so that the same retraction part always has the same id. */
function uuidOf(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
