-- migrate:no-transaction
-- GET /v1/lines?account&date (reconciliation's completeness check against the gateway's record of a day): the
-- published lines of an account booked on a date, value-dated on it, or without either date and received on it.
-- One partial index per branch of that query (the branches are disjoint and appended unordered, so the day streams
-- from the index scans with no sort however many lines it has).
--
-- On a large statement_lines (the gateway's largest table) the indexes are built CONCURRENTLY: a plain CREATE INDEX
-- would block every ingest while it builds. Hence outside a transaction (libs/persistence: first line
-- `-- migrate:no-transaction`). Each statement may run again: a run cut short resumes from the top; an index a
-- failed build left INVALID makes the runner refuse to record the migration until it is dropped.
--
-- A concurrent build also waits for every transaction of the whole database older than it (other services' long
-- runs included). A table this small (a new deployment, a test schema) is therefore indexed at once instead, in one
-- short transaction; the CONCURRENTLY statements then find the indexes there and do nothing.
DO $$
BEGIN
  IF (SELECT count(*) FROM (SELECT 1 FROM statement_lines LIMIT 10000) AS sample) < 10000 THEN
    CREATE INDEX IF NOT EXISTS statement_lines_published_booking ON statement_lines (account, booking_date, line_id)
      WHERE held_finding_id IS NULL AND retracted_by_finding_id IS NULL;
    CREATE INDEX IF NOT EXISTS statement_lines_published_value ON statement_lines (account, value_date, line_id)
      WHERE held_finding_id IS NULL AND retracted_by_finding_id IS NULL;
    CREATE INDEX IF NOT EXISTS statement_lines_published_undated ON statement_lines (account, ((received_at AT TIME ZONE 'UTC')::date), line_id)
      WHERE booking_date IS NULL AND value_date IS NULL AND held_finding_id IS NULL AND retracted_by_finding_id IS NULL;
  END IF;
END $$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS statement_lines_published_booking ON statement_lines (account, booking_date, line_id)
  WHERE held_finding_id IS NULL AND retracted_by_finding_id IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS statement_lines_published_value ON statement_lines (account, value_date, line_id)
  WHERE held_finding_id IS NULL AND retracted_by_finding_id IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS statement_lines_published_undated ON statement_lines (account, ((received_at AT TIME ZONE 'UTC')::date), line_id)
  WHERE booking_date IS NULL AND value_date IS NULL AND held_finding_id IS NULL AND retracted_by_finding_id IS NULL;
