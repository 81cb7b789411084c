-- A bank whose business day ends after midnight (cut-off 02:00 closing the previous day): the nightly run at the
-- cut-off closes the calendar day before the one it fires on, and the grace sweep keeps that day in progress until
-- the cut-off. Rows written before this setting keep the behaviour they had (the cut-off closes its own day).
ALTER TABLE reconciliation_accounts
  ADD COLUMN closes_previous_day boolean NOT NULL DEFAULT false,
  -- After midnight and before noon: later, the day would stay open more than 36 hours (an evening cut-off with the
  -- setting switched on by mistake). HH:MM compares as text.
  ADD CONSTRAINT reconciliation_accounts_previous_day_cut_off CHECK (NOT closes_previous_day OR cut_off < '12:00');
