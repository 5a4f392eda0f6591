-- When a view meets an event it cannot project, it stops before it rather than failing every
-- read (projections/projector.py, projections/stops.py).

-- The stop, so that every process, `jixiao projections status` and /readyz can see it. A stop
-- is current while the view's tracked position is below it.
CREATE TABLE IF NOT EXISTS projection_stops (
    view TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    error TEXT NOT NULL,
    stopped_at TEXT NOT NULL
);

-- The operator's way out: a recorded decision that one view skip one event it stopped on,
-- from then on (rebuilds and replays too). It binds to the event's stored bytes
-- (event_sha256): a different event at that position is not skipped.
CREATE TABLE IF NOT EXISTS projection_quarantine (
    view TEXT NOT NULL,
    position BIGINT NOT NULL,
    event_sha256 TEXT NOT NULL,
    reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (view, position)
);

-- Quarantines are append-only, like the event store (jixiao_append_only: migration 003).
DROP TRIGGER IF EXISTS jixiao_quarantine_append_only ON projection_quarantine;
CREATE TRIGGER jixiao_quarantine_append_only BEFORE UPDATE OR DELETE ON projection_quarantine
    FOR EACH ROW EXECUTE FUNCTION jixiao_append_only();
DROP TRIGGER IF EXISTS jixiao_quarantine_no_truncate ON projection_quarantine;
CREATE TRIGGER jixiao_quarantine_no_truncate BEFORE TRUNCATE ON projection_quarantine
    FOR EACH STATEMENT EXECUTE FUNCTION jixiao_append_only();
