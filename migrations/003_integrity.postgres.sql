-- The verifiable log (ledger/integrity): Merkle leaves over the global event order, the
-- sealer's tracked position and frontier, and the signed checkpoints. PostgreSQL flavour.

-- One leaf per event record, in position order; leaf_index is the RFC 6962 leaf number.
CREATE TABLE IF NOT EXISTS integrity_leaves (
    leaf_index BIGINT PRIMARY KEY,
    position BIGINT NOT NULL UNIQUE,
    leaf_hash BYTEA NOT NULL
);

-- The sealer's tracked position and CompactRange frontier (a single row), moved in the same
-- transaction as the leaves it covers, so a crash never skips or repeats a leaf.
CREATE TABLE IF NOT EXISTS integrity_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL,
    tree_size BIGINT NOT NULL,
    frontier TEXT NOT NULL
);
INSERT INTO integrity_state (id, position, tree_size, frontier)
    VALUES (1, 0, 0, '{"hashes":[],"size":0}') ON CONFLICT (id) DO NOTHING;

-- Signed checkpoints (C2SP signed notes), one per tree size.
CREATE TABLE IF NOT EXISTS integrity_checkpoints (
    tree_size BIGINT PRIMARY KEY,
    last_position BIGINT NOT NULL,
    root_hash BYTEA NOT NULL,
    origin TEXT NOT NULL,
    made_at TEXT NOT NULL,
    note TEXT NOT NULL
);

-- The event store, the leaves and the checkpoints are append-only: UPDATE, DELETE and
-- TRUNCATE are refused. A superuser can disable the triggers; the sealed log and
-- `jixiao verify` still catch what they then change.
CREATE OR REPLACE FUNCTION jixiao_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'jixiao: % is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS jixiao_events_append_only ON {events_table};
CREATE TRIGGER jixiao_events_append_only BEFORE UPDATE OR DELETE ON {events_table}
    FOR EACH ROW EXECUTE FUNCTION jixiao_append_only();
DROP TRIGGER IF EXISTS jixiao_events_no_truncate ON {events_table};
CREATE TRIGGER jixiao_events_no_truncate BEFORE TRUNCATE ON {events_table}
    FOR EACH STATEMENT EXECUTE FUNCTION jixiao_append_only();

DROP TRIGGER IF EXISTS jixiao_leaves_append_only ON integrity_leaves;
CREATE TRIGGER jixiao_leaves_append_only BEFORE UPDATE OR DELETE ON integrity_leaves
    FOR EACH ROW EXECUTE FUNCTION jixiao_append_only();
DROP TRIGGER IF EXISTS jixiao_leaves_no_truncate ON integrity_leaves;
CREATE TRIGGER jixiao_leaves_no_truncate BEFORE TRUNCATE ON integrity_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION jixiao_append_only();

DROP TRIGGER IF EXISTS jixiao_checkpoints_append_only ON integrity_checkpoints;
CREATE TRIGGER jixiao_checkpoints_append_only BEFORE UPDATE OR DELETE ON integrity_checkpoints
    FOR EACH ROW EXECUTE FUNCTION jixiao_append_only();
DROP TRIGGER IF EXISTS jixiao_checkpoints_no_truncate ON integrity_checkpoints;
CREATE TRIGGER jixiao_checkpoints_no_truncate BEFORE TRUNCATE ON integrity_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION jixiao_append_only();
