-- The append notification says how far the log reaches (issue 9).
--
-- A projector batch applies every event there is, so the notifications of appends committed while
-- it ran arrive after it and each cost a step that found nothing. With the log's newest position as
-- payload, a listener that has already applied that far skips it. Numbers are drawn under the
-- global-order lock, so the sequence's last value is at least the newest position this statement
-- wrote; a listener that cannot parse the payload (an older server's '') reads the log as before.
CREATE OR REPLACE FUNCTION events_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('facewatch_events',
                      coalesce(pg_sequence_last_value('events_global_seq')::text, ''));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
