-- Read models, maintained by projectors (projections/projector.py).
-- Times are microseconds since the epoch (UTC) and money is integer cents of 万元,
-- so sums and comparisons are exact and portable between SQLite and PostgreSQL.

CREATE TABLE IF NOT EXISTS projection_tracking (
    view TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);

-- Every event: the audit trail, and the map from recorded time to position.
CREATE TABLE IF NOT EXISTS event_index (
    position BIGINT PRIMARY KEY,
    recorded_at BIGINT NOT NULL,
    recorded_upto BIGINT NOT NULL, -- max(recorded_at) so far: monotonic, for as-of-time lookups
    type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    subject_id TEXT,
    unit_code TEXT,
    actor_id TEXT,
    actor_role TEXT,
    command_id TEXT,
    effective_on TEXT,
    corrects_position BIGINT,
    changes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS event_index_upto ON event_index (recorded_upto);
CREATE INDEX IF NOT EXISTS event_index_subject ON event_index (subject_id, position);
CREATE INDEX IF NOT EXISTS event_index_unit ON event_index (unit_code, position);
CREATE INDEX IF NOT EXISTS event_index_corrections ON event_index (corrects_position);

-- Subjects, system-versioned: a row is current for positions [valid_from, valid_to).
CREATE TABLE IF NOT EXISTS subject_rows (
    subject_id TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT NOT NULL,
    version INTEGER NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    fiscal_year INTEGER NOT NULL,
    unit_code TEXT NOT NULL,
    unit_name TEXT NOT NULL,
    funds_cents BIGINT NOT NULL,
    is_key INTEGER NOT NULL,
    is_new INTEGER NOT NULL,
    tags TEXT NOT NULL,
    seq_key BIGINT NOT NULL,
    registered_on TEXT,
    goal_status TEXT NOT NULL,
    monitoring TEXT NOT NULL,
    self_score TEXT,
    evaluations INTEGER NOT NULL,
    assessment TEXT,
    evaluation_score TEXT,
    evaluated_on TEXT,
    spot_checks INTEGER NOT NULL,
    grade TEXT,
    grade_score TEXT,
    graded_on TEXT,
    annex TEXT,
    priority INTEGER NOT NULL,
    reduced_cents BIGINT NOT NULL,
    cancelled INTEGER NOT NULL,
    recovered_cents BIGINT NOT NULL,
    rectification TEXT,
    PRIMARY KEY (subject_id, valid_from)
);
CREATE INDEX IF NOT EXISTS subject_rows_annex ON subject_rows (annex, fiscal_year, valid_to);
CREATE INDEX IF NOT EXISTS subject_rows_year ON subject_rows (fiscal_year, valid_to);
CREATE INDEX IF NOT EXISTS subject_rows_code ON subject_rows (code, valid_from);
CREATE INDEX IF NOT EXISTS subject_rows_unit ON subject_rows (unit_code, valid_to);

-- Disclosures never change once recorded.
CREATE TABLE IF NOT EXISTS disclosure_rows (
    disclosure_id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    fiscal_year INTEGER NOT NULL,
    audience TEXT NOT NULL,
    title TEXT NOT NULL,
    subject_codes TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    content_position BIGINT NOT NULL,
    checkpoint TEXT
);
CREATE INDEX IF NOT EXISTS disclosure_rows_year ON disclosure_rows (fiscal_year, audience, position);

CREATE INDEX IF NOT EXISTS event_index_aggregate ON event_index (aggregate_id, version);

-- Units as currently named; name changes re-version the subjects of the unit.
CREATE TABLE IF NOT EXISTS unit_rows (
    code TEXT PRIMARY KEY,
    aggregate_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent_code TEXT
);
