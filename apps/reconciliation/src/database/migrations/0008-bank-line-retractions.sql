-- Tombstones of bank.line.retracted (apps/reconciliation/src/corrections/bank-line-withdrawals.ts). A retraction is
-- handled by its own durable consumer and can overtake the bank.line.received of a line it names. It used to be
-- retried until the line arrived (dead-lettered after 30 deliveries); now the lines not here yet get a row each and
-- the message is acknowledged. When a line arrives, the retractions job (every RECON_RETRACTION_SWEEP_INTERVAL_MS)
-- or the account's next run (nightly, API, grace sweep: before it matches or opens breaks) withdraws it exactly as
-- the retraction would have, and sets applied_at. Continuous matching does not look here: no query per line.
CREATE TABLE bank_line_retractions (
  line_id             uuid PRIMARY KEY,
  bank_account        text NOT NULL CHECK (length(bank_account) BETWEEN 1 AND 128),
  finding_id          text NOT NULL CHECK (length(finding_id) BETWEEN 1 AND 128),
  file_id             text NOT NULL CHECK (length(file_id) BETWEEN 1 AND 128),
  statement_id        text NOT NULL CHECK (length(statement_id) BETWEEN 1 AND 256),
  part                integer NOT NULL CHECK (part >= 1),
  replaced_by_file_id text CHECK (length(replaced_by_file_id) BETWEEN 1 AND 128),
  reason              text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  retracted_by        text NOT NULL CHECK (length(retracted_by) BETWEEN 1 AND 128),
  retracted_at        timestamptz NOT NULL,
  recorded_at         timestamptz NOT NULL,
  -- Set in the transaction that withdrew the line (bank_line_withdrawals has its row then).
  applied_at          timestamptz
);
-- The job and the runs look only at tombstones still waiting: a small set, whatever the history.
CREATE INDEX bank_line_retractions_waiting ON bank_line_retractions (bank_account, line_id) WHERE applied_at IS NULL;

GRANT SELECT, INSERT, UPDATE ON bank_line_retractions TO {{service_role}};
