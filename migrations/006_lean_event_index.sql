-- Two indexes fewer to maintain on every event. A subject's trail is its aggregate's events,
-- which event_index_aggregate (aggregate_id, version) already finds; corrections are few, so
-- a partial index over them alone serves the restatement queries.
DROP INDEX IF EXISTS event_index_subject;
DROP INDEX IF EXISTS event_index_corrections;
CREATE INDEX IF NOT EXISTS event_index_correction_positions ON event_index (position)
    WHERE corrects_position IS NOT NULL;
