import { DataSource } from 'typeorm';
import type { SqlExecutor, TransactionRunner } from './sql-executor';

export interface DataSourceSettings {
  readonly url: string;
  readonly schema: string;
  readonly poolSizeMax: number;
  readonly applicationName: string;
  /** Statement timeout guards against a runaway query holding locks; a limit on everything (R11). */
  readonly statementTimeoutMs?: number;
}

export const STATEMENT_TIMEOUT_MS_DEFAULT = 30_000;

/**
 * One TypeORM data source per service, bound to the service's own schema through search_path, never
 * synchronised and never migrating on its own: migrations are `runMigrations`, an explicit step.
 */
export function createDataSource(settings: DataSourceSettings): DataSource {
  const statementTimeoutMs = settings.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS_DEFAULT;
  return new DataSource({
    type: 'postgres',
    url: settings.url,
    schema: settings.schema,
    synchronize: false,
    migrationsRun: false,
    entities: [],
    applicationName: settings.applicationName,
    extra: {
      max: settings.poolSizeMax,
      options: `-c search_path=${settings.schema} -c statement_timeout=${statementTimeoutMs}`,
    },
  });
}

/** Adapts a TypeORM DataSource to the TransactionRunner port used by the libraries. */
export function transactionRunnerOf(dataSource: DataSource): TransactionRunner & SqlExecutor {
  return {
    transaction: <T>(work: (executor: SqlExecutor) => Promise<T>) => dataSource.transaction((manager) => work(manager)),
    query: (sql: string, params?: unknown[]) => dataSource.query(sql, params),
  };
}
