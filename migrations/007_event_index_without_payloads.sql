-- The event index says who did what, when, to which subject: it no longer copies each event's
-- fields, which the log itself holds (audit trails read them from there, by position). A
-- rebuild writes a third as much, and decodes only what the index stores.
ALTER TABLE event_index DROP COLUMN changes;
