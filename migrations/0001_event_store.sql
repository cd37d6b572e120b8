-- The event store: the one source of truth. Rows are only ever inserted.
-- Columns used by postgres-es (cqrs-es) plus a global order for the projections.

CREATE TABLE IF NOT EXISTS events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    -- Position in the whole log; assigned in commit order by the trigger below.
    global_seq     bigint                       NOT NULL UNIQUE,
    recorded_at    timestamptz                  NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE TABLE IF NOT EXISTS snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          json                                 NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);

CREATE SEQUENCE IF NOT EXISTS events_global_seq;

-- A plain sequence can hand out 5 to one transaction and 4 to another that commits first; a reader
-- that has seen 5 would then skip 4 forever. Appends therefore take a transaction-scoped advisory
-- lock before drawing their number, so numbers become visible in order. Appends are short, so
-- serialising them costs little.
CREATE OR REPLACE FUNCTION events_assign_global_seq() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7415562201);
    NEW.global_seq := nextval('events_global_seq');
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- Projectors and the bot LISTEN on this channel; notifications are delivered at commit.
CREATE OR REPLACE FUNCTION events_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('facewatch_events', NEW.global_seq::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS events_global_seq ON events;
CREATE TRIGGER events_global_seq BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_assign_global_seq();

DROP TRIGGER IF EXISTS events_notify ON events;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_notify();

-- Events are immutable: refuse updates and deletes outright.
CREATE OR REPLACE FUNCTION events_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS events_immutable ON events;
CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_immutable();
