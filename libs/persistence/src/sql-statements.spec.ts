import { splitSqlStatements } from './sql-statements';

describe(splitSqlStatements.name, () => {
  it('splits at top-level semicolons and drops comment-only statements', () => {
    const sql = `-- migrate:no-transaction
-- a comment; with a semicolon
CREATE INDEX CONCURRENTLY IF NOT EXISTS a ON t (x);
/* block; /* nested; */ still comment; */
DROP INDEX CONCURRENTLY IF EXISTS b;

-- trailing comment only
`;
    expect(splitSqlStatements(sql)).toEqual([
      '-- migrate:no-transaction\n-- a comment; with a semicolon\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a ON t (x)',
      '/* block; /* nested; */ still comment; */\nDROP INDEX CONCURRENTLY IF EXISTS b',
    ]);
  });

  it('keeps semicolons inside strings, quoted identifiers and dollar-quoted bodies', () => {
    const sql = `INSERT INTO t VALUES ('a;b', 'it''s; fine', E'back\\'; slash');
CREATE TABLE "odd;name" (x int);
DO $$ BEGIN PERFORM 1; PERFORM 2; END $$;
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;
SELECT $1::int, a$b FROM t`;
    expect(splitSqlStatements(sql)).toEqual([
      `INSERT INTO t VALUES ('a;b', 'it''s; fine', E'back\\'; slash')`,
      'CREATE TABLE "odd;name" (x int)',
      'DO $$ BEGIN PERFORM 1; PERFORM 2; END $$',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$',
      'SELECT $1::int, a$b FROM t',
    ]);
  });

  it('refuses an unterminated string, dollar quote or comment instead of guessing', () => {
    expect(() => splitSqlStatements("SELECT 'open;")).toThrow(/unterminated string/);
    expect(() => splitSqlStatements('DO $$ BEGIN; END;')).toThrow(/unterminated dollar-quoted/);
    expect(() => splitSqlStatements('/* open; ')).toThrow(/unterminated block comment/);
  });
});
