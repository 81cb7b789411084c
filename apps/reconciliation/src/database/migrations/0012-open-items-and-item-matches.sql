-- An item's matched state moves out of its row: the item tables keep what arrived (and the break an item is in),
-- `ledger_open_items` / `bank_open_items` hold the items still open (their lookup columns and keys, with the
-- candidate indexes), and `ledger_item_matches` / `bank_item_matches` say which match closed an item.
--
-- Why: matching an item updated its row. An updated row is a new version of the whole (wide) row with a new entry
-- in every index of the table, and since matched_at was in the open indexes' predicates, no update could be HOT.
-- A nightly run over a day of a million items a side that continuous matching had not seen spent 40 of its 93 s on
-- those updates (measured: 15-18 s for 1,071,255 ledger rows alone). Matching is now a DELETE of narrow open rows
-- (1.5 s for the same rows: a delete writes no index entry) and an INSERT of (item, match) pairs into a two-column
-- table (1.9 s), and continuous matching writes the same kinds of rows per match group.
--
-- A new item is open by a statement-level trigger on its table (for every way of inserting it: INSERT, COPY), so
-- that no writer can forget it. An item is open or in exactly one active match, never both: a match deletes the
-- open row and inserts the pair in one transaction; undoing a match (bank-line withdrawals) deletes the pairs and
-- inserts the open rows again (`reopen_*` below).

-- Item ids compare byte for byte (collation "C"): they are opaque names, the engine orders them by code point, and
-- a run reads a day's items joined to its open rows in that order straight off the primary keys (no sort of a
-- million rows in a locale's order, then another in the engine's). The primary keys are rebuilt.
ALTER TABLE ledger_items ALTER COLUMN entry_id TYPE text COLLATE "C";
ALTER TABLE bank_items ALTER COLUMN item_ref TYPE text COLLATE "C";

-- The reference keys a ledger entry is looked up by (as 0004's generated column): its reference, batch reference and
-- the reference's 16- and 35-character prefixes (a bank interface may cut a reference to either).
CREATE FUNCTION ledger_lookup_keys(ref_key text, batch_ref_key text) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN array_remove(ARRAY[ref_key, batch_ref_key, left(ref_key, 16), left(ref_key, 35)], NULL);

CREATE TABLE ledger_open_items (
  entry_id     text COLLATE "C" PRIMARY KEY,
  bank_account text NOT NULL,
  currency     char(3) NOT NULL,
  amount_minor numeric(38, 0) NOT NULL,
  value_date   date NOT NULL,
  lookup_keys  text[] NOT NULL
);
CREATE TABLE bank_open_items (
  item_ref       text COLLATE "C" PRIMARY KEY,
  bank_account   text NOT NULL,
  currency       char(3) NOT NULL,
  amount_minor   numeric(38, 0) NOT NULL,
  effective_date date NOT NULL,
  ref_keys       text[] NOT NULL
);

-- Which match closed an item (the match row says when, by which rule and run). The primary key makes an item part of
-- at most one active match.
CREATE TABLE ledger_item_matches (
  entry_id text COLLATE "C" PRIMARY KEY,
  match_id uuid NOT NULL
);
CREATE TABLE bank_item_matches (
  item_ref text COLLATE "C" PRIMARY KEY,
  match_id uuid NOT NULL
);

INSERT INTO ledger_open_items (entry_id, bank_account, currency, amount_minor, value_date, lookup_keys)
SELECT entry_id, bank_account, currency, amount_minor, value_date, ledger_lookup_keys(ref_key, batch_ref_key) FROM ledger_items WHERE matched_at IS NULL;
INSERT INTO bank_open_items (item_ref, bank_account, currency, amount_minor, effective_date, ref_keys)
SELECT item_ref, bank_account, currency, amount_minor, effective_date, ref_keys FROM bank_items WHERE matched_at IS NULL;
INSERT INTO ledger_item_matches (entry_id, match_id) SELECT entry_id, match_id FROM ledger_items WHERE match_id IS NOT NULL;
INSERT INTO bank_item_matches (item_ref, match_id) SELECT item_ref, match_id FROM bank_items WHERE match_id IS NOT NULL;

-- Candidate lookups (as 0003/0004 had them on the item tables): reference keys in GIN indexes written straight
-- through (no pending list to scan), amounts leading their B-tree, and the run's range of an account's dates.
CREATE INDEX ledger_open_items_keys ON ledger_open_items USING gin (lookup_keys) WITH (fastupdate = off);
CREATE INDEX ledger_open_items_amount ON ledger_open_items (amount_minor, bank_account, currency);
CREATE INDEX ledger_open_items_date ON ledger_open_items (bank_account, value_date);
CREATE INDEX bank_open_items_keys ON bank_open_items USING gin (ref_keys) WITH (fastupdate = off);
CREATE INDEX bank_open_items_amount ON bank_open_items (amount_minor, bank_account, currency);
CREATE INDEX bank_open_items_date ON bank_open_items (bank_account, effective_date);

-- The item tables lose their matched state and the indexes over it.
DROP TRIGGER ledger_items_match_references_inserted ON ledger_items;
DROP TRIGGER ledger_items_match_references_updated ON ledger_items;
DROP TRIGGER bank_items_match_references_inserted ON bank_items;
DROP TRIGGER bank_items_match_references_updated ON bank_items;
DROP INDEX ledger_items_open_keys;
DROP INDEX ledger_items_open_amount;
DROP INDEX bank_items_open_refs;
DROP INDEX bank_items_open_amount;
ALTER TABLE ledger_items DROP COLUMN lookup_keys, DROP COLUMN matched_at, DROP COLUMN match_id;
ALTER TABLE bank_items DROP COLUMN matched_at, DROP COLUMN match_id;

-- The pairs refer to their match through one check per statement (0010's function: no row lock per pair on the
-- match; matches are never deleted and keep their id).
CREATE TRIGGER ledger_item_matches_references AFTER INSERT ON ledger_item_matches
  REFERENCING NEW TABLE AS new_items FOR EACH STATEMENT EXECUTE FUNCTION items_check_match_references();
CREATE TRIGGER bank_item_matches_references AFTER INSERT ON bank_item_matches
  REFERENCING NEW TABLE AS new_items FOR EACH STATEMENT EXECUTE FUNCTION items_check_match_references();
-- Open rows and pairs are inserted and deleted, never changed (the service role may UPDATE the open tables only
-- because SELECT ... FOR UPDATE, the row lock a run and the corrections take on open items, needs the privilege).
CREATE FUNCTION rows_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are inserted and deleted, never changed', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER ledger_item_matches_fixed BEFORE UPDATE ON ledger_item_matches FOR EACH ROW EXECUTE FUNCTION rows_refuse_update();
CREATE TRIGGER bank_item_matches_fixed BEFORE UPDATE ON bank_item_matches FOR EACH ROW EXECUTE FUNCTION rows_refuse_update();
CREATE TRIGGER ledger_open_items_fixed BEFORE UPDATE ON ledger_open_items FOR EACH ROW EXECUTE FUNCTION rows_refuse_update();
CREATE TRIGGER bank_open_items_fixed BEFORE UPDATE ON bank_open_items FOR EACH ROW EXECUTE FUNCTION rows_refuse_update();

-- Every new item is open.
CREATE FUNCTION ledger_items_open_new() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO ledger_open_items (entry_id, bank_account, currency, amount_minor, value_date, lookup_keys)
  SELECT entry_id, bank_account, currency, amount_minor, value_date, ledger_lookup_keys(ref_key, batch_ref_key) FROM new_items;
  RETURN NULL;
END
$$;
CREATE FUNCTION bank_items_open_new() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO bank_open_items (item_ref, bank_account, currency, amount_minor, effective_date, ref_keys)
  SELECT item_ref, bank_account, currency, amount_minor, effective_date, ref_keys FROM new_items;
  RETURN NULL;
END
$$;
CREATE TRIGGER ledger_items_open AFTER INSERT ON ledger_items
  REFERENCING NEW TABLE AS new_items FOR EACH STATEMENT EXECUTE FUNCTION ledger_items_open_new();
CREATE TRIGGER bank_items_open AFTER INSERT ON bank_items
  REFERENCING NEW TABLE AS new_items FOR EACH STATEMENT EXECUTE FUNCTION bank_items_open_new();

-- An item's lookup columns are what it arrived with: they are never changed behind its open row.
CREATE FUNCTION items_refuse_lookup_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%: the columns an item is matched by are never changed', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER ledger_items_lookup_fixed BEFORE UPDATE OF entry_id, bank_account, currency, amount_minor, value_date, ref_key, batch_ref_key ON ledger_items
  FOR EACH ROW EXECUTE FUNCTION items_refuse_lookup_change();
CREATE TRIGGER bank_items_lookup_fixed BEFORE UPDATE OF item_ref, bank_account, currency, amount_minor, effective_date, ref_keys ON bank_items
  FOR EACH ROW EXECUTE FUNCTION items_refuse_lookup_change();

-- Undoing a match, or a run's claimed items it did not match: open again (with the lookup columns they arrived with;
-- joined from the array, not `= ANY`, which a planner may answer with a scan of the whole item table).
CREATE FUNCTION reopen_ledger_items(entry_ids text[]) RETURNS void LANGUAGE sql SET search_path FROM CURRENT
BEGIN ATOMIC
  INSERT INTO ledger_open_items (entry_id, bank_account, currency, amount_minor, value_date, lookup_keys)
  SELECT l.entry_id, l.bank_account, l.currency, l.amount_minor, l.value_date, ledger_lookup_keys(l.ref_key, l.batch_ref_key)
    FROM unnest(entry_ids) AS x (entry_id) JOIN ledger_items l ON l.entry_id = x.entry_id
  ON CONFLICT (entry_id) DO NOTHING;
END;
CREATE FUNCTION reopen_bank_items(item_refs text[]) RETURNS void LANGUAGE sql SET search_path FROM CURRENT
BEGIN ATOMIC
  INSERT INTO bank_open_items (item_ref, bank_account, currency, amount_minor, effective_date, ref_keys)
  SELECT b.item_ref, b.bank_account, b.currency, b.amount_minor, b.effective_date, b.ref_keys
    FROM unnest(item_refs) AS x (item_ref) JOIN bank_items b ON b.item_ref = x.item_ref
  ON CONFLICT (item_ref) DO NOTHING;
END;

GRANT SELECT, INSERT, UPDATE, DELETE ON ledger_open_items, bank_open_items TO {{service_role}};
GRANT SELECT, INSERT, DELETE ON ledger_item_matches, bank_item_matches TO {{service_role}};
