/**
 * The one shape of database access that libraries depend on, so a TypeORM EntityManager, a QueryRunner and
 * a raw pg client all fit. Rows come back as plain objects.
 */
export interface SqlExecutor {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** Runs `work` inside one database transaction and commits, or rolls back when it throws. */
export interface TransactionRunner {
  transaction<T>(work: (executor: SqlExecutor) => Promise<T>): Promise<T>;
}

/**
 * TypeORM's EntityManager.query returns the rows array, except for UPDATE and DELETE where it returns
 * `[rows, affectedCount]`; pg returns `{ rows }`. Rows are objects, never arrays, so the shapes are distinct.
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
