import type { Pool, PoolClient } from 'pg';
import { type SqlExecutor, type TransactionRunner } from '@recon/persistence';

// The executor and transaction ports are @recon/persistence's; this library adds the pg.Pool adapters.
export { queryRows, rowsOf, type SqlExecutor, type TransactionRunner } from '@recon/persistence';

/** The brief's name for the same port. */
export type SqlExecutorFactory = TransactionRunner;

/** Anything with `connect()` handing out a pg PoolClient: a pg.Pool. */
export type PgPoolLike = Pick<Pool, 'connect'>;

/** What the relay and the consumer accept: a TransactionRunner (a TypeORM DataSource is one) or a pg.Pool. */
export type TransactionSource = TransactionRunner | PgPoolLike;

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
