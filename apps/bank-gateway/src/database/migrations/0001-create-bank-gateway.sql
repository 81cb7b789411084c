-- The bank gateway: bank connections (configuration), raw files exactly as delivered, the statements and
-- lines parsed from them, quarantined lines and findings for review.
--
-- Raw files are stored whole in Postgres (bytea, at most GATEWAY_UPLOAD_BYTES_MAX, 50 MiB by default):
-- one backup, one transaction with the lines parsed from them, no second store to keep consistent.
-- raw_files rows are append-only: content and sha256 never change (trigger below).

CREATE TABLE connections (
  connection_id          uuid PRIMARY KEY,
  name                   text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._:-]{1,100}$'),
  bank_id                text NOT NULL CHECK (length(bank_id) BETWEEN 1 AND 64),
  custody_account        text NOT NULL CHECK (length(custody_account) BETWEEN 1 AND 64),
  format                 text NOT NULL CHECK (length(format) BETWEEN 1 AND 64),
  encoding               text NOT NULL CHECK (length(encoding) BETWEEN 1 AND 16),
  schedule_cron          text CHECK (length(schedule_cron) BETWEEN 1 AND 100),
  schedule_time_zone     text NOT NULL DEFAULT 'UTC' CHECK (length(schedule_time_zone) BETWEEN 1 AND 64),
  transport              jsonb NOT NULL,
  -- Credentials by reference only (env:NAME or file:/path): the secret itself never reaches the database.
  secret_ref             text CHECK (length(secret_ref) <= 1010 AND secret_ref ~ '^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$'),
  ca_certificate_ref     text CHECK (length(ca_certificate_ref) <= 1010 AND ca_certificate_ref ~ '^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$'),
  created_at             timestamptz NOT NULL,
  created_by             text NOT NULL,
  updated_at             timestamptz NOT NULL,
  updated_by             text NOT NULL
);

CREATE TABLE raw_files (
  file_id          uuid PRIMARY KEY,
  sha256           char(64) NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  content          bytea NOT NULL,
  size_bytes       bigint NOT NULL CHECK (size_bytes >= 0),
  file_name        text CHECK (length(file_name) BETWEEN 1 AND 500),
  media_type       text CHECK (length(media_type) BETWEEN 1 AND 200),
  source           text NOT NULL CHECK (source IN ('upload', 'https', 'sftp', 'adapter')),
  connection_id    uuid REFERENCES connections (connection_id),
  received_at      timestamptz NOT NULL,
  received_by      text NOT NULL,
  CONSTRAINT raw_files_size_matches CHECK (octet_length(content) = size_bytes)
);
CREATE INDEX raw_files_connection ON raw_files (connection_id, file_id);

CREATE FUNCTION raw_files_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'raw_files rows are immutable: a file is stored once, exactly as delivered';
END $$;
CREATE TRIGGER raw_files_no_update BEFORE UPDATE OR DELETE ON raw_files FOR EACH ROW EXECUTE FUNCTION raw_files_immutable();

-- One row per parse of a file (first ingest, then each reprocess): what was asked and what came out.
CREATE TABLE file_parses (
  parse_id          uuid PRIMARY KEY,
  file_id           uuid NOT NULL REFERENCES raw_files (file_id),
  requested_format  text NOT NULL CHECK (length(requested_format) BETWEEN 1 AND 64),
  requested_encoding text NOT NULL CHECK (length(requested_encoding) BETWEEN 1 AND 16),
  format            text CHECK (length(format) BETWEEN 1 AND 64),
  unreadable_reason text CHECK (length(unreadable_reason) <= 2000),
  statement_count   integer NOT NULL CHECK (statement_count >= 0),
  accepted_count    integer NOT NULL CHECK (accepted_count >= 0),
  duplicate_count   integer NOT NULL CHECK (duplicate_count >= 0),
  held_count        integer NOT NULL CHECK (held_count >= 0),
  rejected_count    integer NOT NULL CHECK (rejected_count >= 0),
  parsed_at         timestamptz NOT NULL,
  parsed_by         text NOT NULL
);
CREATE INDEX file_parses_file ON file_parses (file_id, parsed_at);

CREATE TABLE findings (
  finding_id       uuid PRIMARY KEY,
  kind             text NOT NULL CHECK (kind IN ('conflicting_statement')),
  file_id          uuid NOT NULL REFERENCES raw_files (file_id),
  other_file_id    uuid REFERENCES raw_files (file_id),
  connection_id    uuid REFERENCES connections (connection_id),
  account          text NOT NULL,
  statement_id     text NOT NULL,
  sequence         text,
  message          text NOT NULL CHECK (length(message) BETWEEN 1 AND 2000),
  raised_at        timestamptz NOT NULL
);
CREATE INDEX findings_raised ON findings (finding_id);

-- A statement's identity is (account, statement id, sequence). sequence_key is '' when the format has none.
CREATE TABLE statements (
  statement_pk      uuid PRIMARY KEY,
  file_id           uuid NOT NULL REFERENCES raw_files (file_id),
  account           text NOT NULL CHECK (length(account) BETWEEN 1 AND 64),
  statement_id      text NOT NULL CHECK (length(statement_id) BETWEEN 1 AND 140),
  sequence_key      text NOT NULL CHECK (length(sequence_key) <= 64),
  format            text NOT NULL,
  currency          char(3) NOT NULL,
  record            jsonb NOT NULL,
  held_finding_id   uuid REFERENCES findings (finding_id),
  received_at       timestamptz NOT NULL,
  UNIQUE (file_id, account, statement_id, sequence_key)
);
-- Only one file may own a statement; a second file claiming it is held under a finding.
CREATE UNIQUE INDEX statements_identity ON statements (account, statement_id, sequence_key) WHERE held_finding_id IS NULL;

-- Line identity (dedupe): (account, statement id, sequence, line number within the file). Held lines
-- (under a finding) are stored but outside that identity, and published only when released.
CREATE TABLE statement_lines (
  line_id           uuid PRIMARY KEY,
  file_id           uuid NOT NULL REFERENCES raw_files (file_id),
  parse_id          uuid NOT NULL REFERENCES file_parses (parse_id),
  statement_pk      uuid NOT NULL REFERENCES statements (statement_pk),
  account           text NOT NULL,
  statement_id      text NOT NULL,
  sequence_key      text NOT NULL,
  line_no           integer NOT NULL CHECK (line_no >= 1),
  amount_minor      numeric(38, 0) NOT NULL,
  currency          char(3) NOT NULL,
  booking_date      date,
  value_date        date,
  bank_ref          text,
  record            jsonb NOT NULL,
  held_finding_id   uuid REFERENCES findings (finding_id),
  received_at       timestamptz NOT NULL,
  UNIQUE (file_id, statement_pk, line_no)
);
CREATE UNIQUE INDEX statement_lines_identity ON statement_lines (account, statement_id, sequence_key, line_no) WHERE held_finding_id IS NULL;
CREATE INDEX statement_lines_parse ON statement_lines (parse_id, line_id);
CREATE INDEX statement_lines_file ON statement_lines (file_id, line_no);

CREATE TABLE quarantine (
  quarantine_id     uuid PRIMARY KEY,
  file_id           uuid NOT NULL REFERENCES raw_files (file_id),
  parse_id          uuid NOT NULL REFERENCES file_parses (parse_id),
  connection_id     uuid REFERENCES connections (connection_id),
  line_no           integer NOT NULL CHECK (line_no >= 0),
  reason            text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  raw               text NOT NULL,
  quarantined_at    timestamptz NOT NULL,
  resolved_at       timestamptz,
  resolved_by_parse_id uuid REFERENCES file_parses (parse_id)
);
-- One open row per line and reason: a header rejection and its entry's own rejection may share a line number.
CREATE UNIQUE INDEX quarantine_open_line ON quarantine (file_id, line_no, md5(reason)) WHERE resolved_at IS NULL;
CREATE INDEX quarantine_page ON quarantine (quarantine_id);

-- Files a scheduled pull has already taken from a connection, by name + size + modification time (or ETag).
CREATE TABLE fetched_files (
  connection_id     uuid NOT NULL REFERENCES connections (connection_id),
  remote_name       text NOT NULL CHECK (length(remote_name) BETWEEN 1 AND 1000),
  version_key       text NOT NULL CHECK (length(version_key) BETWEEN 1 AND 500),
  file_id           uuid NOT NULL REFERENCES raw_files (file_id),
  fetched_at        timestamptz NOT NULL,
  PRIMARY KEY (connection_id, remote_name, version_key)
);

GRANT SELECT, INSERT, UPDATE ON connections, file_parses, findings, statements, statement_lines, quarantine, fetched_files TO {{service_role}};
GRANT SELECT, INSERT ON raw_files TO {{service_role}};
