-- Group commit and idempotency (issue 9).
--
-- Appends are now written by one appender per process in batches: one transaction takes the
-- global-order advisory lock once (the row trigger's per-row lock is then re-entrant and cheap) and
-- inserts the events of many commands with one statement. The order guarantee is unchanged: numbers
-- are drawn under the lock, so they become visible in order.

-- One notification per appending statement instead of one per row: listeners only need a wake-up
-- (they read from their checkpoint), and PostgreSQL folds identical notifications of a transaction.
DROP TRIGGER IF EXISTS events_notify ON events;
CREATE OR REPLACE FUNCTION events_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('facewatch_events', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

-- A client's idempotency key, written in the same transaction as the events it produced: a retry
-- with the same key finds it and appends nothing. `key` is scoped by the caller (actor) in the app.
CREATE TABLE IF NOT EXISTS idempotency_keys
(
    key            text PRIMARY KEY,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    position       bigint      NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);

-- Snapshots written by postgres-es 0.5 could claim a later sequence than the state they hold when
-- one command emitted events across a snapshot boundary. Snapshots are only a cache of the log:
-- drop them, they are rebuilt on the next write.
DELETE FROM snapshots;
