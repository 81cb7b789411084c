import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { dropSchemaAndRole, ensureDatabase, type Migration, MigrationError, runMigrations, serviceRoleFor } from './index';

const SHARED_ADMIN_URL = process.env.RECON_TEST_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/**
 * A database of its own: CREATE INDEX CONCURRENTLY waits for every older transaction of its database, and the shared
 * test database may hold other suites' (or benchmarks') long ones.
 */
const ADMIN_URL = (() => {
  const url = new URL(SHARED_ADMIN_URL);
  url.pathname = `/persistence_t${randomBytes(5).toString('hex')}`;
  return url.toString();
})();

/** The migration runner against the real Postgres, in a schema of its own per test. */
describe(runMigrations.name, () => {
  let admin: Client;
  const schemas: string[] = [];

  const newSchema = () => {
    const schema = `persistence_t${randomBytes(5).toString('hex')}`;
    schemas.push(schema);
    return schema;
  };
  const migrate = (schema: string, migrations: Migration[]) => runMigrations({ adminUrl: ADMIN_URL, schema, serviceRole: serviceRoleFor(schema), migrations });
  const recorded = async (schema: string) =>
    (await admin.query<{ migration_id: string }>(`SELECT migration_id FROM ${schema}.schema_migrations ORDER BY migration_id`)).rows.map(
      (row) => row.migration_id,
    );
  const indexes = async (schema: string) =>
    (
      await admin.query<{ name: string; valid: boolean; definition: string }>(
        `SELECT c.relname AS name, i.indisvalid AS valid, pg_get_indexdef(c.oid) AS definition FROM pg_index i
           JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname LIKE 'items_%' ORDER BY c.relname`,
        [schema],
      )
    ).rows;

  const createItems: Migration = {
    id: '0001-items',
    sql: `CREATE TABLE items (id int PRIMARY KEY, amount_minor bigint NOT NULL, account text NOT NULL);
          CREATE INDEX items_amount ON items (account, amount_minor);
          INSERT INTO items SELECT n, n % 7, 'A' || (n % 3) FROM generate_series(1, 1000) AS n;`,
  };
  // What 0003-candidate-lookup-indexes.sql does, the way it should be written for a large table.
  const rebuildConcurrently: Migration = {
    id: '0002-amount-first',
    sql: `-- migrate:no-transaction
-- Leads with the amount; built without blocking writes; every statement may run again (a resumed run).
CREATE INDEX CONCURRENTLY IF NOT EXISTS items_amount_first ON items (amount_minor, account);
DROP INDEX CONCURRENTLY IF EXISTS items_amount;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'items_amount_first') THEN RAISE EXCEPTION 'index missing; %', 'really'; END IF;
END $$;
GRANT SELECT ON items TO {{service_role}};
`,
  };

  beforeAll(async () => {
    await ensureDatabase(ADMIN_URL);
    admin = new Client({ connectionString: ADMIN_URL });
    await admin.connect();
  });

  afterAll(async () => {
    for (const schema of schemas) await dropSchemaAndRole(ADMIN_URL, schema, serviceRoleFor(schema));
    await admin.end();
    const shared = new Client({ connectionString: SHARED_ADMIN_URL });
    await shared.connect();
    try {
      await shared.query(`DROP DATABASE IF EXISTS ${new URL(ADMIN_URL).pathname.slice(1)} WITH (FORCE)`);
    } finally {
      await shared.end();
    }
  });

  it('runs a -- migrate:no-transaction file statement by statement outside a transaction, and records it with its checksum', async () => {
    const schema = newSchema();
    expect(await migrate(schema, [createItems, rebuildConcurrently])).toEqual(['0001-items', '0002-amount-first']);
    // CREATE / DROP INDEX CONCURRENTLY cannot run inside a transaction block: that they ran at all proves there was none.
    expect(await indexes(schema)).toEqual([
      { name: 'items_amount_first', valid: true, definition: expect.stringContaining('(amount_minor, account)') },
      { name: 'items_pkey', valid: true, definition: expect.any(String) },
    ]);
    expect(await recorded(schema)).toEqual(['0001-items', '0002-amount-first']);
    const grants = await admin.query(
      `SELECT 1 FROM information_schema.role_table_grants WHERE table_schema = $1 AND grantee = $2 AND privilege_type = 'SELECT'`,
      [schema, serviceRoleFor(schema)],
    );
    expect(grants.rowCount).toBe(1);
    // Applied once: a second run does nothing, and the search path of the runner's session was not left changed.
    expect(await migrate(schema, [createItems, rebuildConcurrently])).toEqual([]);
  });

  it('the same statements without the directive fail inside the transaction and leave nothing behind', async () => {
    const schema = newSchema();
    await migrate(schema, [createItems]);
    const inTransaction = { ...rebuildConcurrently, sql: rebuildConcurrently.sql.replace('-- migrate:no-transaction\n', '') };
    await expect(migrate(schema, [createItems, inTransaction])).rejects.toThrow(/cannot run inside a transaction block/);
    expect(await recorded(schema)).toEqual(['0001-items']);
  });

  it('a statement that fails leaves the migration unrecorded; the next run starts it again from the top and completes it', async () => {
    const schema = newSchema();
    const failing: Migration = {
      id: '0002-amount-first',
      sql: rebuildConcurrently.sql.replace('GRANT SELECT ON items', 'GRANT SELECT ON no_such_table'),
    };
    const error = await migrate(schema, [createItems, failing]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/failed at statement 4 of 4 .*not recorded.*no_such_table/);
    // The statements before the failing one stay applied (there was no transaction to roll back).
    expect((await indexes(schema)).map((index) => index.name)).toEqual(['items_amount_first', 'items_pkey']);
    expect(await recorded(schema)).toEqual(['0001-items']);
    // Fixed and run again: the first statements find their work done (IF [NOT] EXISTS), the rest runs, it is recorded.
    expect(await migrate(schema, [createItems, rebuildConcurrently])).toEqual(['0002-amount-first']);
    expect(await recorded(schema)).toEqual(['0001-items', '0002-amount-first']);
  });

  it('refuses to record a migration while a failed CREATE INDEX CONCURRENTLY has left an invalid index', async () => {
    const schema = newSchema();
    await migrate(schema, [createItems]);
    // A unique index over duplicate amounts fails during its build and stays behind, INVALID.
    const unique: Migration = {
      id: '0002-unique',
      sql: '-- migrate:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_unique ON items (amount_minor);\n',
    };
    await expect(migrate(schema, [createItems, unique])).rejects.toThrow(/failed at statement 1 of 1.*could not create unique index/s);
    expect(await indexes(schema)).toContainEqual(expect.objectContaining({ name: 'items_unique', valid: false }));
    // Run again: IF NOT EXISTS skips the invalid index, so the runner checks for one before recording.
    await expect(migrate(schema, [createItems, unique])).rejects.toThrow(/invalid indexes \(items_unique\)/);
    expect(await recorded(schema)).toEqual(['0001-items']);
  });

  it('refuses a migration whose text changed after it was applied (so an applied file is never edited, directive or not)', async () => {
    const schema = newSchema();
    await migrate(schema, [createItems]);
    const edited = { ...createItems, sql: `-- migrate:no-transaction\n${createItems.sql}` };
    await expect(migrate(schema, [edited])).rejects.toThrow(/'0001-items' was changed after it was applied/);
  });
});
