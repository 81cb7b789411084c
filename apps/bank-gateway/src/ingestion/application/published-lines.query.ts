import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE } from '@recon/platform';
import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';

/** Rows fetched from the cursor at a time: what one page of the stream holds in this process's memory. */
export const PUBLISHED_LINES_FETCH_ROWS = 1_000;

/**
 * The lines of a business day of one account as published (`bank.line.received`), the same payload each: what
 * reconciliation checks its bank items against. A line belongs to day D when it was booked on D, or its value date
 * is D, or it has neither date and was received on D (UTC) — every day reconciliation may file it under (its
 * `effective_date` is value date, else booking date, else the day it arrived) and the day whose statement books it.
 * Held lines (never published) and retracted ones (withdrawn by `bank.line.retracted`) are not part of it.
 *
 * Three disjoint branches (a line is in exactly one), one per partial index (migration 0005), appended in no
 * particular order: with no ORDER BY the cursor streams straight from the index scans, with no sort of the whole day
 * (measured: for a day of 150,000 lines the planner sorted them all first when asked for line_id order). A day of a
 * million lines costs PUBLISHED_LINES_FETCH_ROWS rows of memory here and no temporary file in Postgres.
 */
const PUBLISHED_LINES_SQL = `
  SELECT line_id, file_id, account, record, received_at FROM (
    (SELECT line_id, file_id, account, record, received_at FROM statement_lines
      WHERE account = $1 AND booking_date = $2::date AND held_finding_id IS NULL AND retracted_by_finding_id IS NULL)
    UNION ALL
    (SELECT line_id, file_id, account, record, received_at FROM statement_lines
      WHERE account = $1 AND value_date = $2::date AND booking_date IS DISTINCT FROM $2::date AND held_finding_id IS NULL AND retracted_by_finding_id IS NULL)
    UNION ALL
    (SELECT line_id, file_id, account, record, received_at FROM statement_lines
      WHERE account = $1 AND booking_date IS NULL AND value_date IS NULL AND (received_at AT TIME ZONE 'UTC')::date = $2::date
        AND held_finding_id IS NULL AND retracted_by_finding_id IS NULL)
  ) AS day`;

export type PublishedLine = Record<string, unknown> & {
  readonly lineId: string;
  readonly fileId: string;
  readonly account: string;
  readonly receivedAt: string;
};

@Injectable()
export class PublishedLinesQuery {
  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}

  /**
   * Pages of the day's published lines from one snapshot (a read-only REPEATABLE READ transaction holding a cursor),
   * each line once. The caller consumes one page before the next is fetched; stopping early (return/throw from
   * the consumer's loop) closes the cursor and gives the connection back.
   */
  async *pagesOf(account: string, date: string): AsyncGenerator<PublishedLine[]> {
    const pool = (this.dataSource.driver as unknown as { master: Pool }).master;
    const client: PoolClient = await pool.connect();
    let failed = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`DECLARE published_lines NO SCROLL CURSOR FOR ${PUBLISHED_LINES_SQL}`, [account, date]);
      for (;;) {
        const { rows } = await client.query<{ line_id: string; file_id: string; account: string; record: Record<string, unknown>; received_at: Date }>(
          `FETCH ${PUBLISHED_LINES_FETCH_ROWS} FROM published_lines`,
        );
        if (rows.length === 0) break;
        yield rows.map((row) => {
          // The payload bank.line.received carried (statement-loader / resolve-finding build it the same way).
          const { kind: _kind, ...fields } = row.record;
          return { ...fields, fileId: row.file_id, lineId: row.line_id, account: row.account, receivedAt: row.received_at.toISOString() };
        });
        if (rows.length < PUBLISHED_LINES_FETCH_ROWS) break;
      }
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      await client.query('ROLLBACK').catch(() => {
        failed = true;
      });
      client.release(failed);
    }
  }
}
