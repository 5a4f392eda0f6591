-- API tokens (issue 7): only the SHA-256 of each secret is kept; the secret is shown once.
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    unit_code TEXT,
    agency_code TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
