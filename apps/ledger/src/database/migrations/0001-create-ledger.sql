-- The ledger: accounts, balanced double-entry transactions and their postings. Append-only: rows of
-- accounts, transactions and postings are never updated or deleted (triggers below refuse it); a
-- correction is a new transaction that reverses the old one. account_balances is a running total kept
-- in the same transaction as the postings it sums, so current balances read in O(1).

CREATE TABLE accounts (
  account_id             uuid PRIMARY KEY,
  code                   text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9._:/-]{1,100}$'),
  kind                   text NOT NULL CHECK (kind IN ('custody', 'customer', 'own_funds', 'suspense')),
  currency               char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  name                   text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  custody_account_id     uuid REFERENCES accounts (account_id),
  bank_id                text CHECK (length(bank_id) BETWEEN 1 AND 64),
  bank_account           text CHECK (length(bank_account) BETWEEN 1 AND 64),
  customer_id            text CHECK (length(customer_id) BETWEEN 1 AND 128),
  overdraft_permitted_at timestamptz,
  opened_at              timestamptz NOT NULL,
  opened_by              text NOT NULL,
  CONSTRAINT accounts_custody_has_no_parent CHECK ((kind = 'custody') = (custody_account_id IS NULL)),
  CONSTRAINT accounts_custody_names_bank CHECK (kind <> 'custody' OR (bank_id IS NOT NULL AND bank_account IS NOT NULL))
);
CREATE UNIQUE INDEX accounts_custody_bank_account ON accounts (bank_id, bank_account, currency) WHERE kind = 'custody';
CREATE INDEX accounts_custody_account ON accounts (custody_account_id);

CREATE TABLE transactions (
  transaction_id          uuid PRIMARY KEY,
  position                bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  idempotency_key         text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  request_sha256          text NOT NULL CHECK (request_sha256 ~ '^[0-9a-f]{64}$'),
  kind                    text NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'transfer', 'fee', 'interest', 'adjustment', 'reversal', 'other')),
  reference               text NOT NULL CHECK (length(reference) <= 140),
  batch_reference         text CHECK (length(batch_reference) BETWEEN 1 AND 140),
  description             text CHECK (length(description) <= 500),
  value_date              date NOT NULL,
  posted_at               timestamptz NOT NULL,
  posted_by               text NOT NULL,
  reverses_transaction_id uuid UNIQUE REFERENCES transactions (transaction_id)
);
CREATE INDEX transactions_value_date ON transactions (value_date);

CREATE TABLE postings (
  transaction_id uuid NOT NULL REFERENCES transactions (transaction_id),
  line_no        smallint NOT NULL CHECK (line_no BETWEEN 1 AND 100),
  account_id     uuid NOT NULL REFERENCES accounts (account_id),
  side           text NOT NULL CHECK (side IN ('debit', 'credit')),
  amount_minor   numeric(38, 0) NOT NULL CHECK (amount_minor > 0),
  currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  value_date     date NOT NULL,
  posted_at      timestamptz NOT NULL,
  PRIMARY KEY (transaction_id, line_no)
);
CREATE INDEX postings_account_value_date ON postings (account_id, value_date);
CREATE INDEX postings_account_posted_at ON postings (account_id, posted_at);

CREATE TABLE account_balances (
  account_id    uuid PRIMARY KEY REFERENCES accounts (account_id),
  debits_minor  numeric(38, 0) NOT NULL DEFAULT 0 CHECK (debits_minor >= 0),
  credits_minor numeric(38, 0) NOT NULL DEFAULT 0 CHECK (credits_minor >= 0)
);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger table % is append-only: % refused; correct by posting a reversal', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER accounts_append_only BEFORE UPDATE OR DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON accounts FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER transactions_append_only BEFORE UPDATE OR DELETE ON transactions FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER transactions_no_truncate BEFORE TRUNCATE ON transactions FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The service role may read and append ledger rows, and move running totals; nothing more.
GRANT SELECT, INSERT ON accounts, transactions, postings TO {{service_role}};
GRANT SELECT, INSERT, UPDATE ON account_balances TO {{service_role}};
