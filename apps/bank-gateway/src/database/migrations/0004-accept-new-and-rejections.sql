-- A finding can be resolved `accept_new`: the earlier version's lines are retracted (bank.line.retracted) and the
-- held lines released (bank.line.received), in one transaction. Both keep their rows; the dedupe identity covers
-- only lines and statements neither held nor retracted.
ALTER TABLE findings DROP CONSTRAINT findings_resolution_check;
ALTER TABLE findings ADD CONSTRAINT findings_resolution_check CHECK (resolution IN ('dismissed', 'acknowledged', 'accept_new'));
-- What an accept_new did, returned again when the same resolution is retried.
ALTER TABLE findings
  ADD COLUMN retracted_file_id uuid REFERENCES raw_files (file_id),
  ADD COLUMN retracted_count integer CHECK (retracted_count >= 0),
  ADD COLUMN released_count integer CHECK (released_count >= 0);

ALTER TABLE statements
  ADD COLUMN retracted_by_finding_id uuid REFERENCES findings (finding_id),
  ADD COLUMN released_by_finding_id uuid REFERENCES findings (finding_id),
  -- Lines of this statement quarantined by the parse that created it: bank.statement.received carries it when a
  -- held statement is released later.
  ADD COLUMN rejected_count integer CHECK (rejected_count >= 0);
DROP INDEX statements_identity;
CREATE UNIQUE INDEX statements_identity ON statements (account, statement_id, sequence_key) WHERE held_finding_id IS NULL AND retracted_by_finding_id IS NULL;
CREATE INDEX statements_held ON statements (held_finding_id) WHERE held_finding_id IS NOT NULL;

ALTER TABLE statement_lines
  ADD COLUMN retracted_by_finding_id uuid REFERENCES findings (finding_id),
  ADD COLUMN released_by_finding_id uuid REFERENCES findings (finding_id);
DROP INDEX statement_lines_identity;
CREATE UNIQUE INDEX statement_lines_identity ON statement_lines (account, statement_id, sequence_key, line_no) WHERE held_finding_id IS NULL AND retracted_by_finding_id IS NULL;
CREATE INDEX statement_lines_held ON statement_lines (held_finding_id, line_id) WHERE held_finding_id IS NOT NULL;
CREATE INDEX statement_lines_statement ON statement_lines (statement_pk, line_id);

-- The statement a quarantined line sat in (when its header was read): bank.line.rejected names its account.
ALTER TABLE quarantine
  ADD COLUMN account text CHECK (length(account) BETWEEN 1 AND 64),
  ADD COLUMN statement_id text CHECK (length(statement_id) BETWEEN 1 AND 140),
  ADD COLUMN currency char(3);
