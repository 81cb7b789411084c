-- Reconciliation: the open items of both sides (ledger entries on custody accounts, bank statement lines),
-- the matches that close them, the breaks a person reviews, and the runs that produced them.
-- An item is open while matched_at IS NULL; it is pending while it also has no break.

-- Custody accounts as the ledger announced them (ledger.account.opened): the bank account names the account
-- on the bank's statements, and is the account key of every item below.
CREATE TABLE custody_accounts (
  account_id   text PRIMARY KEY CHECK (length(account_id) BETWEEN 1 AND 128),
  bank_account text NOT NULL CHECK (length(bank_account) BETWEEN 1 AND 64),
  currency     char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  opened_at    timestamptz NOT NULL
);
CREATE INDEX custody_accounts_bank_account ON custody_accounts (bank_account);

-- Per custody account: how long an unmatched item waits for its partner, and the bank's daily cut-off.
CREATE TABLE reconciliation_accounts (
  bank_account text PRIMARY KEY CHECK (length(bank_account) BETWEEN 1 AND 64),
  grace_days   integer NOT NULL CHECK (grace_days BETWEEN 0 AND 31),
  cut_off      text NOT NULL CHECK (cut_off ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  time_zone    text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
  updated_at   timestamptz NOT NULL,
  updated_by   text NOT NULL
);

CREATE TABLE runs (
  run_id        uuid PRIMARY KEY,
  bank_account  text NOT NULL CHECK (length(bank_account) BETWEEN 1 AND 64),
  business_date date NOT NULL,
  trigger       text NOT NULL CHECK (trigger IN ('schedule', 'api', 'sweep')),
  requested_by  text NOT NULL,
  status        text NOT NULL CHECK (status IN ('running', 'completed', 'completed_with_warnings', 'failed')),
  started_at    timestamptz NOT NULL,
  finished_at   timestamptz,
  result        jsonb,
  error         text CHECK (length(error) <= 2000)
);
CREATE INDEX runs_account_date ON runs (bank_account, business_date);

CREATE TABLE matches (
  match_id     uuid PRIMARY KEY,
  rule         text NOT NULL CHECK (length(rule) BETWEEN 1 AND 64),
  ledger_ids   text[] NOT NULL,
  bank_ids     text[] NOT NULL,
  run_id       uuid REFERENCES runs (run_id),
  matched_at   timestamptz NOT NULL
);

CREATE TABLE breaks (
  break_id        uuid PRIMARY KEY,
  -- sha256 of (account, date, type, items): a re-run that finds the same difference finds this row.
  break_key       text NOT NULL UNIQUE CHECK (break_key ~ '^[0-9a-f]{64}$'),
  type            text NOT NULL,
  category        text NOT NULL CHECK (category IN ('data_sync', 'interface', 'misappropriation')),
  severity        text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  currency        char(3) NOT NULL,
  amount          text NOT NULL CHECK (amount ~ '^[0-9]+(\.[0-9]+)?$'),
  amount_minor    numeric(38, 0) NOT NULL CHECK (amount_minor >= 0),
  bank_account    text NOT NULL,
  business_date   date NOT NULL,
  ledger_ids      text[] NOT NULL,
  bank_ids        text[] NOT NULL,
  reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  explanation     jsonb NOT NULL,
  status          text NOT NULL CHECK (status IN ('open', 'assigned', 'resolved', 'closed')),
  assignee        text,
  run_id          uuid REFERENCES runs (run_id),
  opened_at       timestamptz NOT NULL,
  closed_at       timestamptz,
  resolution_code text,
  resolution_note text CHECK (length(resolution_note) <= 2000),
  resolved_by     text,
  CONSTRAINT breaks_closed_has_resolution CHECK ((status IN ('resolved', 'closed')) = (closed_at IS NOT NULL AND resolution_code IS NOT NULL))
);
CREATE INDEX breaks_open ON breaks (status, type, opened_at) WHERE closed_at IS NULL;
CREATE INDEX breaks_account ON breaks (bank_account, business_date);
CREATE INDEX breaks_ledger_ids ON breaks USING gin (ledger_ids);
CREATE INDEX breaks_bank_ids ON breaks USING gin (bank_ids);

CREATE TABLE ledger_items (
  entry_id       text PRIMARY KEY CHECK (length(entry_id) BETWEEN 1 AND 140),
  bank_account   text NOT NULL,
  currency       char(3) NOT NULL,
  amount_minor   numeric(38, 0) NOT NULL,
  value_date     date NOT NULL,
  reference      text,
  -- normalised (letters and digits, upper case) reference and batch reference: the candidate lookup keys.
  ref_key        text,
  batch_ref_key  text,
  sub_account    text,
  description    text,
  kind           text,
  batch_reference text,
  source         text NOT NULL CHECK (source IN ('event', 'export')),
  note           text,
  received_at    timestamptz NOT NULL,
  processed_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  matched_at     timestamptz,
  match_id       uuid REFERENCES matches (match_id),
  break_id       uuid REFERENCES breaks (break_id),
  CONSTRAINT ledger_items_matched_together CHECK ((matched_at IS NULL) = (match_id IS NULL))
);
CREATE INDEX ledger_items_open_amount ON ledger_items (bank_account, currency, amount_minor) WHERE matched_at IS NULL;
CREATE INDEX ledger_items_open_ref ON ledger_items (ref_key) WHERE matched_at IS NULL;
CREATE INDEX ledger_items_open_ref16 ON ledger_items (left(ref_key, 16)) WHERE matched_at IS NULL;
CREATE INDEX ledger_items_open_ref35 ON ledger_items (left(ref_key, 35)) WHERE matched_at IS NULL;
CREATE INDEX ledger_items_open_batch ON ledger_items (batch_ref_key) WHERE matched_at IS NULL;
CREATE INDEX ledger_items_value_date ON ledger_items (bank_account, value_date);

CREATE TABLE bank_items (
  line_id         uuid PRIMARY KEY,
  -- What outputs call the line: bankRef, else statementId:lineNo (also when the bankRef is taken).
  item_ref        text NOT NULL UNIQUE CHECK (length(item_ref) BETWEEN 1 AND 200),
  file_id         uuid NOT NULL,
  statement_id    text NOT NULL,
  line_no         integer NOT NULL CHECK (line_no >= 1),
  bank_account    text NOT NULL,
  currency        char(3) NOT NULL,
  amount_minor    numeric(38, 0) NOT NULL,
  value_date      date,
  booking_date    date,
  -- the date the grace window counts from: value date, else booking date, else the day it arrived.
  effective_date  date NOT NULL,
  bank_ref        text,
  end_to_end_id   text,
  customer_ref    text,
  bank_tx_code    text,
  counterparty_name text,
  remittance      text,
  reversal        boolean NOT NULL,
  transactions    jsonb,
  -- normalised references and reference-like words of the free text: the candidate lookup keys.
  ref_keys        text[] NOT NULL,
  -- 'event': arrived as bank.line.received; 'gateway': found only in the gateway's record of its file by a run.
  source          text NOT NULL DEFAULT 'event' CHECK (source IN ('event', 'gateway')),
  note            text,
  received_at     timestamptz NOT NULL,
  processed_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  matched_at      timestamptz,
  match_id        uuid REFERENCES matches (match_id),
  break_id        uuid REFERENCES breaks (break_id),
  CONSTRAINT bank_items_matched_together CHECK ((matched_at IS NULL) = (match_id IS NULL))
);
CREATE INDEX bank_items_open_amount ON bank_items (bank_account, currency, amount_minor) WHERE matched_at IS NULL;
CREATE INDEX bank_items_open_refs ON bank_items USING gin (ref_keys) WHERE matched_at IS NULL;
CREATE INDEX bank_items_effective_date ON bank_items (bank_account, effective_date);
CREATE INDEX bank_items_statement ON bank_items (statement_id);

CREATE TABLE statements (
  statement_key   text PRIMARY KEY,
  statement_id    text NOT NULL,
  file_id         uuid NOT NULL,
  format          text NOT NULL,
  bank_account    text NOT NULL,
  currency        char(3) NOT NULL,
  sequence        text,
  from_date       date,
  to_date         date,
  opening_amount  text,
  opening_date    date,
  closing_amount  text,
  closing_date    date,
  entry_count     integer NOT NULL,
  rejected_count  integer NOT NULL,
  received_at     timestamptz NOT NULL
);
CREATE INDEX statements_account_to ON statements (bank_account, to_date);

CREATE TABLE break_comments (
  comment_id uuid PRIMARY KEY,
  break_id   uuid NOT NULL REFERENCES breaks (break_id),
  author     text NOT NULL,
  body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
  created_at timestamptz NOT NULL
);
CREATE INDEX break_comments_break ON break_comments (break_id, created_at);

-- Resolutions that move money: proposed by one person, approved by another, then posted to the ledger.
CREATE TABLE adjustments (
  adjustment_id         uuid PRIMARY KEY,
  break_id              uuid NOT NULL REFERENCES breaks (break_id),
  status                text NOT NULL CHECK (status IN ('proposed', 'approved-pending-posting', 'posted', 'rejected')),
  transaction           jsonb NOT NULL,
  reason_code           text NOT NULL,
  proposed_by           text NOT NULL,
  proposed_at           timestamptz NOT NULL,
  approved_by           text,
  approved_at           timestamptz,
  posted_at             timestamptz,
  ledger_transaction_id uuid,
  post_attempts         integer NOT NULL DEFAULT 0 CHECK (post_attempts >= 0),
  last_error            text CHECK (length(last_error) <= 2000),
  -- Four eyes, also in the database: the approver is never the proposer.
  CONSTRAINT adjustments_four_eyes CHECK (approved_by IS NULL OR approved_by <> proposed_by)
);
CREATE INDEX adjustments_break ON adjustments (break_id);

GRANT SELECT, INSERT, UPDATE ON custody_accounts, reconciliation_accounts, runs, matches, breaks, ledger_items, bank_items, statements, break_comments, adjustments TO {{service_role}};
