import { Inject, Injectable } from '@nestjs/common';
import { hashToHex } from '@recon/audit-log';
import { queryRows, type TransactionRunner } from '@recon/persistence';
import { TRANSACTIONS } from '@recon/platform';
import { z } from 'zod';
import { toSafeNumber } from '../../log/infrastructure/audit-log.pg.repository';

export const SEARCH_PAGE_SIZE_DEFAULT = 100;
export const SEARCH_PAGE_SIZE_MAX = 1_000;
const FILTER_TEXT_LENGTH_MAX = 256;

const text = (lengthMax = FILTER_TEXT_LENGTH_MAX) => z.string().min(1).max(lengthMax);

export const searchAuditEventsSchema = z
  .object({
    /** occurredAt >= from (a UTC instant). */
    from: z.iso.datetime({ offset: true }).optional(),
    /** occurredAt < to. */
    to: z.iso.datetime({ offset: true }).optional(),
    actorId: text().optional(),
    actorRole: text(64).optional(),
    entityType: text(64).optional(),
    entityId: text().optional(),
    /** The exact event type, `audit.ledger.transaction.post`. */
    type: text(128).optional(),
    /** Types starting with this, e.g. `audit.ledger.` for everything the ledger recorded. */
    typePrefix: text(128).optional(),
    /** The log's action name, e.g. `transaction_post`. */
    action: text(64).optional(),
    service: text(64).optional(),
    /** Cursor: events with seq > afterSeq (the previous page's nextAfterSeq). */
    afterSeq: z.coerce.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).default(-1),
    limit: z.coerce.number().int().min(1).max(SEARCH_PAGE_SIZE_MAX).default(SEARCH_PAGE_SIZE_DEFAULT),
  })
  .strict();

export type SearchAuditEventsFilter = z.output<typeof searchAuditEventsSchema>;

export interface AuditEventView {
  readonly seq: number;
  readonly leafHash: string;
  readonly appendedAt: string;
  readonly event: unknown;
}

/** Searches the log in seq order with keyset pagination; each filter adds one indexed condition. */
@Injectable()
export class SearchAuditEventsQuery {
  constructor(@Inject(TRANSACTIONS) private readonly db: TransactionRunner) {}

  async execute(filter: SearchAuditEventsFilter): Promise<{ events: AuditEventView[]; nextAfterSeq: number | undefined }> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    const add = (sql: (placeholder: string) => string, value: unknown) => {
      params.push(value);
      conditions.push(sql(`$${params.length}`));
    };
    if (filter.from !== undefined) add((p) => `occurred_at >= ${p}::timestamptz`, filter.from);
    if (filter.to !== undefined) add((p) => `occurred_at < ${p}::timestamptz`, filter.to);
    if (filter.actorId !== undefined) add((p) => `actor_id = ${p}`, filter.actorId);
    if (filter.actorRole !== undefined) add((p) => `actor_role = ${p}`, filter.actorRole);
    if (filter.entityType !== undefined) add((p) => `entity_type = ${p}`, filter.entityType);
    if (filter.entityId !== undefined) add((p) => `entity_id = ${p}`, filter.entityId);
    if (filter.type !== undefined) add((p) => `event_type = ${p}`, filter.type);
    if (filter.typePrefix !== undefined) add((p) => `starts_with(event_type, ${p})`, filter.typePrefix);
    if (filter.action !== undefined) add((p) => `action = ${p}`, filter.action);
    if (filter.service !== undefined) add((p) => `service = ${p}`, filter.service);
    add((p) => `seq > ${p}`, filter.afterSeq);
    params.push(filter.limit);
    const rows = await this.db.transaction((executor) =>
      queryRows<{ seq: string; leaf_hash: Buffer; appended_at: Date; event_json: string }>(
        executor,
        `SELECT seq, leaf_hash, appended_at, event_json FROM audit_records WHERE ${conditions.join(' AND ')} ORDER BY seq LIMIT $${params.length}`,
        params,
      ),
    );
    const events = rows.map((row) => ({
      seq: toSafeNumber(row.seq),
      leafHash: hashToHex(new Uint8Array(row.leaf_hash)),
      appendedAt: row.appended_at.toISOString(),
      event: JSON.parse(row.event_json) as unknown,
    }));
    return { events, nextAfterSeq: events.length === filter.limit ? events.at(-1)?.seq : undefined };
  }
}
