-- Wake projectors when events are appended. Notifications can be lost: projectors poll too.
CREATE OR REPLACE FUNCTION jixiao_notify_appended() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('jixiao_events', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS jixiao_events_appended ON {events_table};

CREATE TRIGGER jixiao_events_appended AFTER INSERT ON {events_table}
    FOR EACH STATEMENT EXECUTE FUNCTION jixiao_notify_appended();
