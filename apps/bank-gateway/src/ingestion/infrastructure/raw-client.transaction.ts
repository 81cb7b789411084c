import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * One transaction on a raw pg client of the service's pool: COPY needs the driver's client, and the outbox and
 * audit writes go through the same client so that everything commits together. A client whose COPY was abandoned
 * is discarded rather than returned to the pool.
 */
export async function inRawTransaction<T>(
  dataSource: DataSource,
  work: (client: PoolClient) => Promise<T>,
  options: { statementTimeoutMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.statementTimeoutMs;
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1))
    throw new Error(`statement timeout ${timeoutMs} ms is not a positive whole number`);
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  const client = await pool.connect();
  let discard = false;
  try {
    await client.query('BEGIN');
    // The pool's statement timeout suits requests; one COPY of a 50 MiB statement may need longer.
    if (timeoutMs !== undefined) await client.query(`SET LOCAL statement_timeout = ${timeoutMs}`);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      discard = true;
    });
    throw error;
  } finally {
    client.release(discard);
  }
}
