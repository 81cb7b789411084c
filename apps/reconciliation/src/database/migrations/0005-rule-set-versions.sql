-- Matching rule sets managed through the API (apps/reconciliation/src/rules): every version ever stored, immutable,
-- and the history of activations, the latest of which is the rule set the whole service matches with (continuous
-- matching, nightly runs, the sweep). Without any activation the built-in rule set applies (defaultRuleSet()).
-- One active rule set for the service, not per custody account: the candidate lookups and match locks of continuous
-- matching are derived from the rule set, and one set keeps them uniform (see the README).

CREATE TABLE rule_set_versions (
  -- The rule set's own `version`: its name in runs (`rulesVersion`) and in the API path.
  version        text PRIMARY KEY CHECK (version ~ '^[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}$'),
  -- The resolved rule set (defaults filled in, keys sorted: @recon/matching's stableJson) as text: jsonb would
  -- reorder keys and spacing, and the hash below is of these exact bytes.
  canonical_json text NOT NULL CHECK (octet_length(canonical_json) <= 1048576),
  -- The library's rulesHash: SHA-256 of canonical_json (checked here too). Equal hashes mean equal behaviour.
  rules_hash     text NOT NULL UNIQUE CONSTRAINT rule_set_versions_hash CHECK (rules_hash = encode(sha256(convert_to(canonical_json, 'UTF8')), 'hex')),
  -- How it was submitted: a YAML or JSON body, or the service's built-in set stored when someone activated it.
  source_format  text NOT NULL CHECK (source_format IN ('yaml', 'json', 'built-in')),
  created_at     timestamptz NOT NULL,
  created_by     text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 128),
  CONSTRAINT rule_set_versions_named_as_json CHECK ((canonical_json::jsonb ->> 'version') = version),
  -- Referenced by activations so that four eyes can be a CHECK there.
  CONSTRAINT rule_set_versions_creator UNIQUE (version, created_by)
);

-- Append-only: the latest row (highest activation_no) names the active version.
CREATE TABLE rule_set_activations (
  activation_no      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  activation_id      uuid NOT NULL UNIQUE,
  version            text NOT NULL,
  version_created_by text NOT NULL,
  -- The version active before (NULL: the built-in rule set, never activated through the API).
  previous_version   text REFERENCES rule_set_versions (version),
  activated_at       timestamptz NOT NULL,
  activated_by       text NOT NULL CHECK (length(activated_by) BETWEEN 1 AND 128),
  CONSTRAINT rule_set_activations_version FOREIGN KEY (version, version_created_by) REFERENCES rule_set_versions (version, created_by),
  -- Four eyes, also in the database: a version is never activated by the person who created it.
  CONSTRAINT rule_set_activations_four_eyes CHECK (activated_by <> version_created_by)
);

CREATE FUNCTION rule_sets_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused (store a new version, or activate another one)', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER rule_set_versions_immutable BEFORE UPDATE OR DELETE ON rule_set_versions FOR EACH ROW EXECUTE FUNCTION rule_sets_refuse_change();
CREATE TRIGGER rule_set_versions_no_truncate BEFORE TRUNCATE ON rule_set_versions FOR EACH STATEMENT EXECUTE FUNCTION rule_sets_refuse_change();
CREATE TRIGGER rule_set_activations_append_only BEFORE UPDATE OR DELETE ON rule_set_activations FOR EACH ROW EXECUTE FUNCTION rule_sets_refuse_change();
CREATE TRIGGER rule_set_activations_no_truncate BEFORE TRUNCATE ON rule_set_activations FOR EACH STATEMENT EXECUTE FUNCTION rule_sets_refuse_change();

GRANT SELECT, INSERT ON rule_set_versions, rule_set_activations TO {{service_role}};
