-- A person closes a finding after review. The held lines stay held either way: publishing them would put a second
-- version of money already published in front of reconciliation, which needs a retraction event first.
ALTER TABLE findings
  ADD COLUMN resolved_at timestamptz,
  ADD COLUMN resolved_by text CHECK (length(resolved_by) BETWEEN 1 AND 256),
  ADD COLUMN resolution text CHECK (resolution IN ('dismissed', 'acknowledged')),
  ADD COLUMN resolution_reason text CHECK (length(resolution_reason) BETWEEN 1 AND 1000),
  ADD CONSTRAINT findings_resolution_complete CHECK ((resolved_at IS NULL) = (resolution IS NULL) AND (resolved_at IS NULL) = (resolved_by IS NULL) AND (resolved_at IS NULL) = (resolution_reason IS NULL));
