-- Event MACs (ledger/integrity/event_macs.py): HMAC-SHA256 of each appended event under a key
-- derived from the signing key file, written in the same transaction as the event. The key is
-- never in the database, so a row appended by SQL has no valid MAC and is never sealed. No
-- view reads this table. Append-only like the log (jixiao_append_only comes from 003).
CREATE TABLE IF NOT EXISTS integrity_event_macs (
    position BIGINT PRIMARY KEY,
    mac BYTEA NOT NULL
);

DROP TRIGGER IF EXISTS jixiao_macs_append_only ON integrity_event_macs;
CREATE TRIGGER jixiao_macs_append_only BEFORE UPDATE OR DELETE ON integrity_event_macs
    FOR EACH ROW EXECUTE FUNCTION jixiao_append_only();
DROP TRIGGER IF EXISTS jixiao_macs_no_truncate ON integrity_event_macs;
CREATE TRIGGER jixiao_macs_no_truncate BEFORE TRUNCATE ON integrity_event_macs
    FOR EACH STATEMENT EXECUTE FUNCTION jixiao_append_only();
