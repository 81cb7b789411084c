-- The tamper-evident audit log (docs/audit-log.md, docs/audit-events.md).
--
-- audit_records, merkle_nodes and checkpoints are append-only in the database itself: the service role may
-- only INSERT and SELECT them, and triggers refuse UPDATE, DELETE and TRUNCATE to everyone, owner included.
-- Neither stops a superuser, which is why the records are sealed by a Merkle tree whose roots are signed:
-- whatever an insider changes here, an offline `recon audit verify` of an export notices.
--
-- log_head is bookkeeping, not evidence: the size of the log and its Merkle frontier, kept in one row so that
-- each append takes one row lock (SELECT ... FOR UPDATE: appends are serialised across instances) and never
-- rehashes the log. Everything in it is derivable from audit_records/merkle_nodes, and the service checks it
-- against them when it starts.

CREATE TABLE audit_records (
  seq           bigint PRIMARY KEY CHECK (seq >= 0),
  event_id      text NOT NULL UNIQUE CHECK (length(event_id) BETWEEN 1 AND 128),
  event_type    text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 128),
  service       text NOT NULL CHECK (length(service) BETWEEN 1 AND 64),
  occurred_at   timestamptz NOT NULL,
  actor_id      text NOT NULL CHECK (length(actor_id) BETWEEN 1 AND 256),
  actor_role    text NOT NULL CHECK (length(actor_role) BETWEEN 1 AND 64),
  action        text NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
  entity_type   text NOT NULL CHECK (length(entity_type) BETWEEN 1 AND 64),
  entity_id     text NOT NULL CHECK (length(entity_id) BETWEEN 1 AND 256),
  -- The RFC 8785 canonical JSON of the event, as text (jsonb would reorder and respace it): exactly the bytes
  -- the leaf hash covers, written verbatim into exports.
  event_json    text NOT NULL CHECK (octet_length(event_json) <= 65536),
  leaf_hash     bytea NOT NULL CHECK (octet_length(leaf_hash) = 32),
  appended_at   timestamptz NOT NULL
);
CREATE INDEX audit_records_occurred_at ON audit_records (occurred_at, seq);
CREATE INDEX audit_records_actor ON audit_records (actor_id, seq);
CREATE INDEX audit_records_entity ON audit_records (entity_type, entity_id, seq);
CREATE INDEX audit_records_type ON audit_records (event_type, seq);

-- Every perfect subtree of the Merkle tree: (level, node_index) covers leaves
-- [node_index * 2^level, (node_index + 1) * 2^level); level 0 holds the leaf hashes. About 2 rows per record,
-- so any root or proof is at most log2(n) lookups.
CREATE TABLE merkle_nodes (
  level       smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
  node_index  bigint NOT NULL CHECK (node_index >= 0),
  hash        bytea NOT NULL CHECK (octet_length(hash) = 32),
  PRIMARY KEY (level, node_index)
);

-- Signed checkpoints (C2SP signed notes); at most one per tree size, so the log never signs two roots for one size.
CREATE TABLE checkpoints (
  tree_size  bigint PRIMARY KEY CHECK (tree_size >= 0),
  root_hash  bytea NOT NULL CHECK (octet_length(root_hash) = 32),
  note       text NOT NULL CHECK (octet_length(note) <= 65536),
  signed_at  timestamptz NOT NULL
);
CREATE INDEX checkpoints_signed_at ON checkpoints (signed_at);

CREATE TABLE log_head (
  singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  tree_size       bigint NOT NULL CHECK (tree_size >= 0),
  -- The frontier's perfect-subtree roots, largest first, concatenated: 32 bytes per set bit of tree_size.
  frontier_hashes bytea NOT NULL CHECK (octet_length(frontier_hashes) % 32 = 0),
  updated_at      timestamptz NOT NULL
);
INSERT INTO log_head (tree_size, frontier_hashes, updated_at) VALUES (0, ''::bytea, now());

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE OR DELETE ON merkle_nodes FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON merkle_nodes FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
-- The head row is updated in place but never removed.
CREATE TRIGGER log_head_no_delete BEFORE DELETE ON log_head FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER log_head_no_truncate BEFORE TRUNCATE ON log_head FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

GRANT SELECT, INSERT ON audit_records, merkle_nodes, checkpoints TO {{service_role}};
GRANT SELECT, UPDATE ON log_head TO {{service_role}};
