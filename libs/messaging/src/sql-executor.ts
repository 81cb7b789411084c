import type { Pool, PoolClient } from 'pg';

/**
 * The one shape of database access this library needs, so a TypeORM EntityManager or QueryRunner and a raw
 * pg client all fit. Structurally the same as @recon/persistence's SqlExecutor.
 */
export interface SqlExecutor {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** Runs `work` in one short database transaction: commit when it resolves, roll back when it throws. */
export interface TransactionRunner {
  transaction<T>(work: (executor: SqlExecutor) => Promise<T>): Promise<T>;
}

/** The brief's name for the same port. */
export type SqlExecutorFactory = TransactionRunner;

/** Anything with `connect()` handing out a pg PoolClient: a pg.Pool. */
export type PgPoolLike = Pick<Pool, 'connect'>;

/** What the relay and the consumer accept: a TransactionRunner (a TypeORM DataSource is one) or a pg.Pool. */
export type TransactionSource = TransactionRunner | PgPoolLike;

/**
 * Rows out of any executor's result. pg returns `{ rows }`; TypeORM's EntityManager.query returns the rows
 * array, except for UPDATE and DELETE where it returns `[rows, affectedCount]`. Rows are objects, never
 * arrays, so that last shape cannot be mistaken for a result set.
 */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) {
    if (result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
    return result as T[];
  }
  if (result !== null && typeof result === 'object' && 'rows' in result) return (result as { rows: T[] }).rows;
  return [];
}

export async function queryRows<T>(executor: SqlExecutor, sql: string, params?: unknown[]): Promise<T[]> {
  return rowsOf<T>(await executor.query(sql, params));
}

function isTransactionRunner(source: TransactionSource): source is TransactionRunner {
  return typeof (source as Partial<TransactionRunner>).transaction === 'function';
}

/** A TransactionRunner over a pg.Pool: BEGIN/COMMIT on one pooled connection. */
export function pgTransactionRunner(pool: PgPoolLike): TransactionRunner {
  return {
    async transaction<T>(work: (executor: SqlExecutor) => Promise<T>): Promise<T> {
      const client: PoolClient = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection is unusable: destroy it rather than return it to the pool
        }
        throw error;
      } finally {
        client.release(broken);
      }
    },
  };
}

export function toTransactionRunner(source: TransactionSource): TransactionRunner {
  return isTransactionRunner(source) ? source : pgTransactionRunner(source);
}

export function isPgPool(source: TransactionSource): source is PgPoolLike {
  return !isTransactionRunner(source) && typeof (source as Partial<PgPoolLike>).connect === 'function';
}
