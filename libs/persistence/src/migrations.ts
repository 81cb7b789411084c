import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { databaseNameOf, quoteIdentifier } from './identifiers';
import { splitSqlStatements } from './sql-statements';

/**
 * Reviewed SQL migrations, never `synchronize` (R14). Each service owns a schema and a role; the runner
 * connects as an administrator, creates both when missing, and applies the pending migrations in id order,
 * each in its own transaction, under an advisory lock so that two instances starting together do not race.
 * In SQL, `{{service_role}}` stands for the service's quoted role name, so grants live in the migrations.
 *
 * A file whose first line is `-- migrate:no-transaction` runs outside a transaction, statement by statement (for
 * what Postgres refuses inside one: CREATE INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY, ALTER TYPE … ADD VALUE
 * before its use), still under the advisory lock, checksummed and recorded once every statement succeeded. A
 * statement that fails leaves the ones before it applied and the migration unrecorded: such a file must be safe to
 * run again from the top (IF EXISTS / IF NOT EXISTS), and the next run does exactly that. Because a failed CREATE
 * INDEX CONCURRENTLY leaves an INVALID index that IF NOT EXISTS would then keep, the runner refuses to record the
 * migration while the schema holds an invalid index.
 */
export interface Migration {
  readonly id: string;
  readonly sql: string;
}

export interface MigrationTarget {
  readonly adminUrl: string;
  readonly schema: string;
  readonly serviceRole: string;
  readonly migrations: readonly Migration[];
  readonly log?: (message: string) => void;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

const MIGRATION_ID_PATTERN = /^\d{4}-[a-z0-9-]+$/;
/** The first line of a migration file that must run outside a transaction (see above). */
export const NO_TRANSACTION_DIRECTIVE = '-- migrate:no-transaction';

/** Whether the file asks to run outside a transaction: its first line is the directive, exactly (whitespace aside). */
export function runsOutsideTransaction(sql: string): boolean {
  return (sql.replace(/^\uFEFF/, '').split('\n', 1)[0] ?? '').trim() === NO_TRANSACTION_DIRECTIVE;
}

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

/** Reads `NNNN-name.sql` files from a folder, sorted by id. */
export function migrationsFromDirectory(directory: string): Migration[] {
  // A service whose issue has not given it tables yet has no folder: it still gets the messaging tables.
  if (!fs.existsSync(directory)) return [];
  return fs
    .readdirSync(directory)
    .filter((name) => name.endsWith('.sql'))
    .sort()
    .map((name) => {
      const id = name.replace(/\.sql$/, '');
      if (!MIGRATION_ID_PATTERN.test(id)) throw new MigrationError(`migration file '${name}' must be named NNNN-kebab-name.sql`);
      return { id, sql: fs.readFileSync(path.join(directory, name), 'utf8') };
    });
}

/** Creates the database named in `adminUrl` when it does not exist (connecting to `postgres`). */
export async function ensureDatabase(adminUrl: string): Promise<void> {
  const database = databaseNameOf(adminUrl);
  const maintenanceUrl = new URL(adminUrl);
  maintenanceUrl.pathname = '/postgres';
  const client = new Client({ connectionString: maintenanceUrl.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${quoteIdentifier(database)}`);
      } catch (error: unknown) {
        // Another process created it between our check and our create.
        if ((error as { code?: string }).code !== '42P04') throw error;
      }
    }
  } finally {
    await client.end();
  }
}

export async function runMigrations(target: MigrationTarget): Promise<string[]> {
  const log = target.log ?? (() => undefined);
  const schema = quoteIdentifier(target.schema);
  const role = quoteIdentifier(target.serviceRole);
  const ids = new Set<string>();
  for (const migration of target.migrations) {
    if (!MIGRATION_ID_PATTERN.test(migration.id)) throw new MigrationError(`migration id '${migration.id}' must look like NNNN-kebab-name`);
    if (ids.has(migration.id)) throw new MigrationError(`migration id '${migration.id}' appears twice`);
    ids.add(migration.id);
  }
  const ordered = [...target.migrations].sort((a, b) => a.id.localeCompare(b.id));
  const client = new Client({ connectionString: target.adminUrl });
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`recon-migrate:${target.schema}`]);
    await client.query(
      `DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${target.serviceRole}') THEN
           CREATE ROLE ${role} LOGIN;
         END IF;
       END $$`,
    );
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
         migration_id text PRIMARY KEY,
         checksum_sha256 text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Map(
      (await client.query<{ migration_id: string; checksum_sha256: string }>(`SELECT migration_id, checksum_sha256 FROM ${schema}.schema_migrations`)).rows.map(
        (row) => [row.migration_id, row.checksum_sha256],
      ),
    );
    for (const migration of ordered) {
      const checksum = checksumOf(migration.sql);
      const previous = done.get(migration.id);
      if (previous !== undefined) {
        if (previous !== checksum) throw new MigrationError(`migration '${migration.id}' was changed after it was applied to schema ${target.schema}`);
        continue;
      }
      if (runsOutsideTransaction(migration.sql)) {
        await applyOutsideTransaction(client, target.schema, migration, checksum, role);
        applied.push(migration.id);
        log(`applied migration ${migration.id} to schema ${target.schema} (outside a transaction)`);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path TO ${schema}`);
        await client.query(migration.sql.replaceAll('{{service_role}}', role));
        await client.query(`INSERT INTO ${schema}.schema_migrations (migration_id, checksum_sha256) VALUES ($1, $2)`, [migration.id, checksum]);
        await client.query('COMMIT');
      } catch (error: unknown) {
        await client.query('ROLLBACK');
        throw new MigrationError(`migration '${migration.id}' failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      applied.push(migration.id);
      log(`applied migration ${migration.id} to schema ${target.schema}`);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`recon-migrate:${target.schema}`]).catch(() => undefined);
    await client.end();
  }
  return applied;
}

/** Runs a `-- migrate:no-transaction` file statement by statement in autocommit, then records it (see above). */
async function applyOutsideTransaction(client: Client, schemaName: string, migration: Migration, checksum: string, role: string): Promise<void> {
  const schema = quoteIdentifier(schemaName);
  let statements: string[];
  try {
    statements = splitSqlStatements(migration.sql.replaceAll('{{service_role}}', role));
  } catch (error: unknown) {
    throw new MigrationError(`migration '${migration.id}' cannot be split into statements: ${error instanceof Error ? error.message : String(error)}`);
  }
  await client.query(`SET search_path TO ${schema}`);
  try {
    for (const [index, statement] of statements.entries()) {
      try {
        await client.query(statement);
      } catch (error: unknown) {
        throw new MigrationError(
          `migration '${migration.id}' failed at statement ${index + 1} of ${statements.length} (outside a transaction: the statements before it ` +
            `stay applied, the migration is not recorded, and the next run starts it again from the top): ` +
            `${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    const invalid = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND NOT i.indisvalid ORDER BY c.relname`,
      [schemaName],
    );
    if (invalid.rows.length > 0) {
      throw new MigrationError(
        `migration '${migration.id}' is not recorded: schema ${schemaName} holds invalid indexes (${invalid.rows.map((row) => row.name).join(', ')}), ` +
          'left by a CREATE INDEX CONCURRENTLY that failed; drop them (DROP INDEX CONCURRENTLY) and run the migrations again',
      );
    }
    await client.query(`INSERT INTO ${schema}.schema_migrations (migration_id, checksum_sha256) VALUES ($1, $2)`, [migration.id, checksum]);
  } finally {
    await client.query('RESET search_path');
  }
}

/** Drops a schema and its service role. For tests and `recon` development resets only. */
export async function dropSchemaAndRole(adminUrl: string, schema: string, serviceRole: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
    await client.query(
      `DO $$ BEGIN
         IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${serviceRole}') THEN
           EXECUTE 'DROP OWNED BY ${quoteIdentifier(serviceRole)}';
           EXECUTE 'DROP ROLE ${quoteIdentifier(serviceRole)}';
         END IF;
       END $$`,
    );
  } finally {
    await client.end();
  }
}
