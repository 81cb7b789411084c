import { queryRows, type SqlExecutor } from './sql-executor';

/** Rows deleted per call: short transactions, so a purge never holds locks long. Call again until it returns 0. */
export const PURGE_ROWS_MAX = 10_000;

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > PURGE_ROWS_MAX) throw new Error(`purge limit must be an integer in 1..${PURGE_ROWS_MAX}`);
}

/**
 * Deletes outbox rows published before `publishedBefore` (the caller's clock). Published rows are history only:
 * keep a few days for investigations. Unpublished rows are never touched.
 */
export async function purgePublishedOutbox(executor: SqlExecutor, publishedBefore: Date, limit = PURGE_ROWS_MAX): Promise<number> {
  checkLimit(limit);
  const [row] = await queryRows<{ deleted: string }>(
    executor,
    `WITH doomed AS (
       SELECT message_id FROM outbox_messages WHERE published_at < $1 ORDER BY position LIMIT $2
     ), deleted AS (
       DELETE FROM outbox_messages WHERE message_id IN (SELECT message_id FROM doomed) RETURNING 1
     )
     SELECT count(*) AS deleted FROM deleted`,
    [publishedBefore, limit],
  );
  return Number(row?.deleted ?? 0);
}

/**
 * Deletes inbox rows processed before `processedBefore`. An inbox row is what makes a redelivery harmless: keep
 * it at least as long as the stream keeps the message (30 days), longer if streams may be replayed.
 */
export async function purgeInbox(executor: SqlExecutor, consumer: string, processedBefore: Date, limit = PURGE_ROWS_MAX): Promise<number> {
  checkLimit(limit);
  const [row] = await queryRows<{ deleted: string }>(
    executor,
    `WITH doomed AS (
       SELECT message_id FROM inbox_messages WHERE consumer = $1 AND processed_at < $2 LIMIT $3
     ), deleted AS (
       DELETE FROM inbox_messages WHERE consumer = $1 AND message_id IN (SELECT message_id FROM doomed) RETURNING 1
     )
     SELECT count(*) AS deleted FROM deleted`,
    [consumer, processedBefore, limit],
  );
  return Number(row?.deleted ?? 0);
}
