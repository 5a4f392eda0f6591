-- Event MACs (ledger/integrity/event_macs.py): HMAC-SHA256 of each appended event under a key
-- derived from the signing key file, written in the same transaction as the event. The key is
-- never in the database, so a row appended by SQL has no valid MAC and is never sealed. No
-- view reads this table. Append-only like the log (one statement per line, see 003).
CREATE TABLE IF NOT EXISTS integrity_event_macs (
    position INTEGER PRIMARY KEY,
    mac BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS jixiao_macs_no_update BEFORE UPDATE ON integrity_event_macs BEGIN SELECT RAISE(ABORT, 'jixiao: event MACs are append-only (UPDATE refused)'); END;
CREATE TRIGGER IF NOT EXISTS jixiao_macs_no_delete BEFORE DELETE ON integrity_event_macs BEGIN SELECT RAISE(ABORT, 'jixiao: event MACs are append-only (DELETE refused)'); END;
