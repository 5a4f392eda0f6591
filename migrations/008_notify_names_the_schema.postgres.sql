-- Every store on a server shares the channel: the payload names the appending store's schema,
-- so a projector wakes for its own store's appends only.
CREATE OR REPLACE FUNCTION jixiao_notify_appended() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('jixiao_events', TG_TABLE_SCHEMA);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
