-- Appends in one round trip (issue 9).
--
-- The appender used to write a group of commands in a transaction of four round trips (BEGIN with
-- the ordering lock, the streams' last sequences, the insert, COMMIT), all under the global-order
-- lock, so every round trip lengthened the one serial step of the write path. Called in
-- autocommit, this function does all of it in one implicit transaction: the lock, the checks (every
-- stream still ends at `stream_lasts`, 0 for a new stream; no key in `keys` used yet), the events
-- (positions and hash chain still come from the row trigger), the idempotency keys (each naming the
-- position of its command's newest event, `key_sequences`) and the snapshots (replacing the
-- stream's previous one). When a check fails it writes nothing and returns no row; the appender
-- then decides command by command (store/src/append_checked.rs).
CREATE OR REPLACE FUNCTION facewatch_append(
    stream_types text[], stream_ids text[], stream_lasts bigint[],
    types text[], ids text[], sequences bigint[], event_types text[], event_versions text[],
    payloads jsonb[], metadata jsonb[],
    keys text[], key_types text[], key_ids text[], key_sequences bigint[],
    snapshot_types text[], snapshot_ids text[], snapshot_lasts bigint[], snapshot_numbers bigint[],
    snapshot_payloads jsonb[])
    RETURNS TABLE (stored_type text, stored_id text, stored_sequence bigint, stored_position bigint)
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_advisory_xact_lock(7415562201);
    IF EXISTS (SELECT 1
               FROM unnest(stream_types, stream_ids, stream_lasts) AS s(t, i, last)
               WHERE coalesce((SELECT e.sequence FROM events e
                               WHERE e.aggregate_type = s.t AND e.aggregate_id = s.i
                               ORDER BY e.sequence DESC LIMIT 1), 0) <> s.last)
        OR EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.key = ANY (keys)) THEN
        RETURN;
    END IF;
    RETURN QUERY
        INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
        SELECT t, i, s, et, ev, p::json, m::json
        FROM unnest(types, ids, sequences, event_types, event_versions, payloads, metadata)
                 WITH ORDINALITY AS e(t, i, s, et, ev, p, m, n)
        ORDER BY n
        RETURNING aggregate_type, aggregate_id, sequence, global_seq;
    INSERT INTO idempotency_keys (key, aggregate_type, aggregate_id, position)
    SELECT k.key, k.t, k.i, e.global_seq
    FROM unnest(keys, key_types, key_ids, key_sequences) AS k(key, t, i, s)
             JOIN events e ON e.aggregate_type = k.t AND e.aggregate_id = k.i AND e.sequence = k.s;
    DELETE FROM snapshots sn
        USING unnest(snapshot_types, snapshot_ids) AS s(t, i)
        WHERE sn.aggregate_type = s.t AND sn.aggregate_id = s.i;
    -- One snapshot per stream: the newest, if two commands of one stream each brought one.
    INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
    SELECT DISTINCT ON (t, i) t, i, l, n, p::json
    FROM unnest(snapshot_types, snapshot_ids, snapshot_lasts, snapshot_numbers, snapshot_payloads) AS s(t, i, l, n, p)
    ORDER BY t, i, l DESC;
END;
$$;
