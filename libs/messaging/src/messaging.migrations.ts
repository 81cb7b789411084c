/**
 * The outbox, inbox and dead-letter tables every service needs, as plain SQL applied by the service's
 * migration runner inside its own schema (search_path set, table names unqualified). `{{service_role}}` is
 * the service's database role, substituted by the runner. Ids sort before any service migration (`0001-…`).
 */
export interface MessagingMigration {
  readonly id: string;
  readonly sql: string;
}

/** The channel of the outbox trigger's NOTIFY; the payload is the schema name, so services sharing a database do not wake each other's relays. */
export const OUTBOX_NOTIFY_CHANNEL = 'recon_outbox';
export const OUTBOX_LAST_ERROR_LENGTH_MAX = 1_000;
export const DEAD_LETTER_REASON_LENGTH_MAX = 2_000;

const OUTBOX_SQL = `
CREATE TABLE outbox_messages (
  message_id      uuid PRIMARY KEY,
  -- Insertion order, for FIFO relaying (uuids, v7 included, do not order rows within one millisecond).
  position        bigserial NOT NULL,
  subject         text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
  schema_version  integer NOT NULL CHECK (schema_version BETWEEN 1 AND 1000),
  payload         jsonb NOT NULL,
  headers         jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  available_at    timestamptz NOT NULL DEFAULT now(),
  published_at    timestamptz,
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error      text CHECK (length(last_error) <= ${OUTBOX_LAST_ERROR_LENGTH_MAX})
);

-- The relay reads only unpublished rows, oldest first; published rows stay out of this index.
CREATE INDEX outbox_messages_unpublished_idx ON outbox_messages (position) WHERE published_at IS NULL;

-- Wake-up: a relay with nothing to do arms this flag and sleeps; inserts NOTIFY only while it is armed, and a relay
-- that finds work disarms it. Why not always NOTIFY: a notifying transaction takes a database-wide lock from its
-- pre-commit to the end of its commit (WAL flush included), which serialises every notifying commit; under load
-- (when the relay is busy anyway) that would cap the services' write rate. NOTIFY is transactional: a rolled-back
-- insert wakes nobody.
CREATE TABLE outbox_relay_wakeup (
  singleton            boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  relay_waiting_since  timestamptz
);
INSERT INTO outbox_relay_wakeup (singleton) VALUES (true);

-- The payload is the schema, so relays of services sharing a database ignore each other's inserts.
CREATE FUNCTION outbox_messages_notify() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM outbox_relay_wakeup WHERE relay_waiting_since IS NOT NULL) THEN
    PERFORM pg_notify('${OUTBOX_NOTIFY_CHANNEL}', TG_TABLE_SCHEMA);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER outbox_messages_notify AFTER INSERT ON outbox_messages
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_messages_notify();

GRANT SELECT, UPDATE ON outbox_relay_wakeup TO {{service_role}};
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox_messages TO {{service_role}};
GRANT USAGE, SELECT ON SEQUENCE outbox_messages_position_seq TO {{service_role}};
`;

const INBOX_SQL = `
CREATE TABLE inbox_messages (
  consumer         text NOT NULL CHECK (length(consumer) BETWEEN 1 AND 200),
  message_id       text NOT NULL CHECK (length(message_id) BETWEEN 1 AND 200),
  subject          text NOT NULL,
  stream_sequence  bigint NOT NULL,
  processed_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);

GRANT SELECT, INSERT, DELETE ON inbox_messages TO {{service_role}};
`;

const DEAD_LETTERS_SQL = `
CREATE TABLE dead_letters (
  dead_letter_id   bigserial PRIMARY KEY,
  consumer         text NOT NULL,
  stream           text NOT NULL,
  stream_sequence  bigint NOT NULL,
  subject          text NOT NULL,
  message_id       text,
  delivery_count   integer NOT NULL,
  headers          jsonb NOT NULL,
  -- The raw body, byte for byte: an invalid message may not even be JSON or UTF-8, and is kept exactly as it came.
  payload          bytea NOT NULL,
  reason           text NOT NULL CHECK (length(reason) <= ${DEAD_LETTER_REASON_LENGTH_MAX}),
  dead_at          timestamptz NOT NULL DEFAULT now(),
  resolved_at      timestamptz,
  UNIQUE (consumer, stream, stream_sequence)
);

CREATE INDEX dead_letters_unresolved_idx ON dead_letters (consumer, dead_at) WHERE resolved_at IS NULL;

GRANT SELECT, INSERT, UPDATE ON dead_letters TO {{service_role}};
GRANT USAGE, SELECT ON SEQUENCE dead_letters_dead_letter_id_seq TO {{service_role}};
`;

// The outbox keeps the JSON text it was given: \`json\`, not \`jsonb\`. The payload is validated against its contract
// and serialised once by the producer, and the relay publishes that text; jsonb parsed it into its binary form on
// insert and rendered it back to text for the relay, a quarter of the outbox's database cost (measured: 35 -> 27 µs
// per event to insert, 23 -> 20 to relay). Queries with -> and ->> work on json as they did on jsonb.
const OUTBOX_JSON_SQL = `
ALTER TABLE outbox_messages
  ALTER COLUMN payload TYPE json USING payload::json,
  ALTER COLUMN headers DROP DEFAULT,
  ALTER COLUMN headers TYPE json USING headers::json,
  ALTER COLUMN headers SET DEFAULT '{}'::json;
`;

export const MESSAGING_MIGRATIONS: readonly MessagingMigration[] = Object.freeze([
  { id: '0000-messaging-01-outbox', sql: OUTBOX_SQL },
  { id: '0000-messaging-02-inbox', sql: INBOX_SQL },
  { id: '0000-messaging-03-dead-letters', sql: DEAD_LETTERS_SQL },
  { id: '0000-messaging-04-outbox-json', sql: OUTBOX_JSON_SQL },
]);
