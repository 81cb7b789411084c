-- A connection serves one custody account: a statement of another account arriving over it is held for review.
ALTER TABLE findings DROP CONSTRAINT findings_kind_check;
ALTER TABLE findings ADD CONSTRAINT findings_kind_check CHECK (kind IN ('conflicting_statement', 'unexpected_account'));
