-- The check that a statement's new (item, match) pairs name matches that exist (0010's function, on the pair
-- tables since 0012), reworked for a nightly run's million pairs a side. It probed the matches' primary key once per
-- pair, and every probe also read the match's heap page (the matches were inserted in the same transaction, so the
-- visibility map cannot vouch for them): 2.5 s for 972,484 pairs. Now the statement's match ids bound a range of
-- the primary key, the matches in it are read once (a bitmap scan in key order) and hashed, and the pairs are
-- checked against the hash: 1.6 s. A run's match ids are UUIDv7 made during the run, so the range holds its own
-- matches and the few continuous matching recorded meanwhile; continuous matching's batches likewise. The check
-- is as exact as before: every pair's match lies within the bounds taken from the pairs themselves.
CREATE OR REPLACE FUNCTION items_check_match_references() RETURNS trigger LANGUAGE plpgsql
  SET search_path FROM CURRENT
  -- A hash of the range, not a probe per pair (the planner cannot know a transition table's size).
  SET enable_nestloop = off
AS $$
DECLARE
  low uuid;
  high uuid;
  missing uuid;
BEGIN
  SELECT n.match_id INTO low FROM new_items n WHERE n.match_id IS NOT NULL ORDER BY n.match_id LIMIT 1;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  SELECT n.match_id INTO high FROM new_items n WHERE n.match_id IS NOT NULL ORDER BY n.match_id DESC LIMIT 1;
  SELECT n.match_id INTO missing FROM new_items n
   WHERE n.match_id IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.match_id = n.match_id AND m.match_id BETWEEN low AND high)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '% refers to match % which does not exist', TG_TABLE_NAME, missing USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END
$$;
