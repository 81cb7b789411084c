-- Corrections from the bank gateway (apps/reconciliation/src/corrections):
--  * bank.line.retracted: a bank line published earlier is withdrawn (another version of its statement was
--    accepted). Its row stays; it leaves the open set through a `withdrawn` match (so every open-item query, which
--    reads matched_at IS NULL, skips it), and the withdrawal is recorded below with its reason. A match it was in is
--    undone (undone_at, undo_reason) and its other items go back to pending.
--  * bank.line.rejected / bank.line.rejection-resolved: a line the gateway could not read is a rejected_line break
--    until a reprocess reads it.
ALTER TABLE matches
  ADD COLUMN undone_at timestamptz,
  ADD COLUMN undo_reason text CHECK (length(undo_reason) BETWEEN 1 AND 2000),
  ADD CONSTRAINT matches_undone_with_reason CHECK ((undone_at IS NULL) = (undo_reason IS NULL));

CREATE TABLE bank_line_withdrawals (
  line_id             uuid PRIMARY KEY REFERENCES bank_items (line_id),
  item_ref            text NOT NULL,
  finding_id          text NOT NULL CHECK (length(finding_id) BETWEEN 1 AND 128),
  file_id             text NOT NULL CHECK (length(file_id) BETWEEN 1 AND 128),
  replaced_by_file_id text CHECK (length(replaced_by_file_id) BETWEEN 1 AND 128),
  reason              text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  retracted_by        text NOT NULL CHECK (length(retracted_by) BETWEEN 1 AND 128),
  retracted_at        timestamptz NOT NULL,
  -- The match the line was in when it was withdrawn (now undone), if any; and the `withdrawn` match taking it out of the open set.
  undone_match_id     uuid REFERENCES matches (match_id),
  withdrawal_match_id uuid NOT NULL REFERENCES matches (match_id),
  -- The open break the line was in, closed with resolution `withdrawn`.
  closed_break_id     uuid REFERENCES breaks (break_id),
  withdrawn_at        timestamptz NOT NULL
);
CREATE INDEX bank_line_withdrawals_finding ON bank_line_withdrawals (finding_id);

-- Statements whose lines were all retracted: the row leaves `statements` (continuity and completeness read the
-- version of record) and is kept here whole.
CREATE TABLE retracted_statements (
  statement_key text PRIMARY KEY,
  finding_id    text NOT NULL,
  statement     jsonb NOT NULL,
  retracted_at  timestamptz NOT NULL
);

CREATE TABLE rejected_bank_lines (
  quarantine_id        text PRIMARY KEY CHECK (length(quarantine_id) BETWEEN 1 AND 128),
  file_id              text NOT NULL,
  parse_id             text NOT NULL,
  line_no              integer NOT NULL CHECK (line_no >= 0),
  reason               text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  raw                  text NOT NULL,
  bank_account         text,
  currency             char(3),
  statement_id         text,
  rejected_at          timestamptz NOT NULL,
  break_id             uuid REFERENCES breaks (break_id),
  -- Why no break was opened (no account, or no currency known for it).
  note                 text CHECK (length(note) <= 2000),
  resolved_at          timestamptz,
  resolved_by_parse_id text,
  received_at          timestamptz NOT NULL
);
CREATE INDEX rejected_bank_lines_open ON rejected_bank_lines (bank_account) WHERE resolved_at IS NULL;

GRANT SELECT, INSERT, UPDATE ON bank_line_withdrawals, retracted_statements, rejected_bank_lines TO {{service_role}};
GRANT DELETE ON statements TO {{service_role}};
