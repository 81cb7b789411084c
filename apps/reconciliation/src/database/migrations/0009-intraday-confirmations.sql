-- An intraday report (camt.052, camt.054, MT942) announces a movement; the end-of-day statement (camt.053, MT940,
-- BAI2, CSV) states it again, with the same bank reference, amount and date, under another statement and line id.
-- Without knowing that, the second is a `duplicate` break for every movement announced intraday. A run pairs them
-- (corrections/intraday-confirmations.ts): one intraday line with at most one statement line and back, and the one
-- of the two that is still open leaves the open set through an `intraday-confirmed` match (the intraday one when
-- both are open: the statement is the bank's record of the day). A true double booking (two statement lines for one
-- intraday line, or none intraday) still ends as a `duplicate` break.
CREATE TABLE intraday_confirmations (
  intraday_line_id    uuid PRIMARY KEY REFERENCES bank_items (line_id),
  statement_line_id   uuid NOT NULL UNIQUE REFERENCES bank_items (line_id),
  withdrawn_line_id   uuid NOT NULL REFERENCES bank_items (line_id),
  withdrawal_match_id uuid NOT NULL REFERENCES matches (match_id),
  -- The open break the withdrawn line was in (an earlier run's `duplicate`), closed with resolution `intraday_confirmed`.
  closed_break_id     uuid REFERENCES breaks (break_id),
  run_id              uuid REFERENCES runs (run_id),
  confirmed_at        timestamptz NOT NULL,
  CONSTRAINT intraday_confirmations_withdraws_one_of_them CHECK (withdrawn_line_id IN (intraday_line_id, statement_line_id))
);

GRANT SELECT, INSERT ON intraday_confirmations TO {{service_role}};
