-- The verifiable log (ledger/integrity): Merkle leaves over the global event order, the
-- sealer's tracked position and frontier, and the signed checkpoints. SQLite flavour.

-- One leaf per event record, in position order; leaf_index is the RFC 6962 leaf number.
CREATE TABLE IF NOT EXISTS integrity_leaves (
    leaf_index INTEGER PRIMARY KEY,
    position INTEGER NOT NULL UNIQUE,
    leaf_hash BLOB NOT NULL
);

-- The sealer's tracked position and CompactRange frontier (a single row), moved in the same
-- transaction as the leaves it covers, so a crash never skips or repeats a leaf.
CREATE TABLE IF NOT EXISTS integrity_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL,
    tree_size INTEGER NOT NULL,
    frontier TEXT NOT NULL
);
INSERT INTO integrity_state (id, position, tree_size, frontier)
    VALUES (1, 0, 0, '{"hashes":[],"size":0}') ON CONFLICT (id) DO NOTHING;

-- Signed checkpoints (C2SP signed notes), one per tree size.
CREATE TABLE IF NOT EXISTS integrity_checkpoints (
    tree_size INTEGER PRIMARY KEY,
    last_position INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    origin TEXT NOT NULL,
    made_at TEXT NOT NULL,
    note TEXT NOT NULL
);

-- The event store is append-only: refuse UPDATE and DELETE (a DELETE without WHERE is
-- SQLite's TRUNCATE and fires these too). An operator can drop the triggers; the sealed log
-- and `jixiao verify` still catch what they then change. One statement per line (the
-- migration runner splits on ';' at line end).
CREATE TRIGGER IF NOT EXISTS jixiao_events_no_update BEFORE UPDATE ON {events_table} BEGIN SELECT RAISE(ABORT, 'jixiao: the event store is append-only (UPDATE refused)'); END;
CREATE TRIGGER IF NOT EXISTS jixiao_events_no_delete BEFORE DELETE ON {events_table} BEGIN SELECT RAISE(ABORT, 'jixiao: the event store is append-only (DELETE refused)'); END;
CREATE TRIGGER IF NOT EXISTS jixiao_leaves_no_update BEFORE UPDATE ON integrity_leaves BEGIN SELECT RAISE(ABORT, 'jixiao: sealed leaves are append-only (UPDATE refused)'); END;
CREATE TRIGGER IF NOT EXISTS jixiao_leaves_no_delete BEFORE DELETE ON integrity_leaves BEGIN SELECT RAISE(ABORT, 'jixiao: sealed leaves are append-only (DELETE refused)'); END;
CREATE TRIGGER IF NOT EXISTS jixiao_checkpoints_no_update BEFORE UPDATE ON integrity_checkpoints BEGIN SELECT RAISE(ABORT, 'jixiao: checkpoints are append-only (UPDATE refused)'); END;
CREATE TRIGGER IF NOT EXISTS jixiao_checkpoints_no_delete BEFORE DELETE ON integrity_checkpoints BEGIN SELECT RAISE(ABORT, 'jixiao: checkpoints are append-only (DELETE refused)'); END;
