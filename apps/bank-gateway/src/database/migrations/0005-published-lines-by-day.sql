-- migrate:no-transaction
-- GET /v1/lines?account&date (reconciliation's completeness check against the gateway's record of a day): the
-- published lines of an account booked on a date, value-dated on it, or without either date and received on it.
-- One partial index per branch of that query (the branches are disjoint and appended unordered, so the day streams
-- from the index scans with no sort however many lines it has).
--
-- Built CONCURRENTLY (statement_lines is the gateway's largest table; a plain CREATE INDEX would block every ingest
-- while it builds), hence outside a transaction (libs/persistence: first line `-- migrate:no-transaction`). Each
-- statement may run again: a run cut short resumes from the top; an index a failed build left INVALID makes the
-- runner refuse to record the migration until it is dropped.
CREATE INDEX CONCURRENTLY IF NOT EXISTS statement_lines_published_booking ON statement_lines (account, booking_date, line_id)
  WHERE held_finding_id IS NULL AND retracted_by_finding_id IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS statement_lines_published_value ON statement_lines (account, value_date, line_id)
  WHERE held_finding_id IS NULL AND retracted_by_finding_id IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS statement_lines_published_undated ON statement_lines (account, ((received_at AT TIME ZONE 'UTC')::date), line_id)
  WHERE booking_date IS NULL AND value_date IS NULL AND held_finding_id IS NULL AND retracted_by_finding_id IS NULL;
