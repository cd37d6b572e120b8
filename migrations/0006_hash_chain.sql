-- Tamper evidence and audit bookkeeping (issue 15).
--
-- Every event stores a SHA-256 that chains it to the event before it in the log:
--
--   chain_hash = sha256(previous chain_hash                  (32 zero bytes for the first event)
--                       || int8(global_seq) || int8(chain_prev)
--                       || field(aggregate_type) || field(aggregate_id) || int8(sequence)
--                       || field(event_type) || field(event_version)
--                       || field(payload) || field(metadata)
--                       || int8(recorded_at in microseconds since the Unix epoch))
--
-- where int8 is 8 bytes big-endian, field(t) is the UTF-8 length of t as 4 bytes big-endian then
-- its UTF-8 bytes, and payload/metadata are the stored `json` texts, byte for byte (a `json`
-- column keeps the text it was given). `chain_prev` is the position of the previous event (0 for
-- the first): positions have gaps (a rolled-back append uses one up), so it says which event the
-- hash follows and lets `facewatch verify` tell a removed event from an altered one.
-- The verifier (store/src/chain.rs) recomputes all of this in Rust from the stored columns.

ALTER TABLE events ADD COLUMN chain_prev bigint, ADD COLUMN chain_hash bytea;

-- STABLE, not IMMUTABLE: convert_to and extract are stable, and a SQL function is only inlined
-- (about 4x faster per append) when it claims no more than its body.
CREATE OR REPLACE FUNCTION events_chain_field(t text) RETURNS bytea
    LANGUAGE sql STABLE STRICT AS
$$ SELECT pg_catalog.int4send(pg_catalog.octet_length(t)) || pg_catalog.convert_to(t, 'UTF8') $$;

CREATE OR REPLACE FUNCTION events_chain_digest(prev_hash bytea, prev_seq bigint, e events) RETURNS bytea
    LANGUAGE sql STABLE AS
$$
SELECT pg_catalog.sha256(
    prev_hash
    || pg_catalog.int8send(e.global_seq) || pg_catalog.int8send(prev_seq)
    || events_chain_field(e.aggregate_type) || events_chain_field(e.aggregate_id)
    || pg_catalog.int8send(e.sequence)
    || events_chain_field(e.event_type) || events_chain_field(e.event_version)
    || events_chain_field(e.payload::text) || events_chain_field(e.metadata::text)
    || pg_catalog.int8send((extract(epoch FROM e.recorded_at) * 1000000)::bigint))
$$;

-- The chain of the events stored before this migration, in log order. UPDATE is refused by the
-- immutability trigger, which is set aside for this one backfill.
ALTER TABLE events DISABLE TRIGGER events_immutable;
DO
$$
DECLARE
    e         events;
    prev_hash bytea  := decode(repeat('00', 32), 'hex');
    prev_seq  bigint := 0;
BEGIN
    FOR e IN SELECT * FROM events ORDER BY global_seq
        LOOP
            prev_hash := events_chain_digest(prev_hash, prev_seq, e);
            UPDATE events SET chain_prev = prev_seq, chain_hash = prev_hash WHERE global_seq = e.global_seq;
            prev_seq := e.global_seq;
        END LOOP;
END
$$;
ALTER TABLE events ENABLE TRIGGER events_immutable;
ALTER TABLE events ALTER COLUMN chain_prev SET NOT NULL, ALTER COLUMN chain_hash SET NOT NULL;

-- Appends draw their position and chain their hash under the global-order lock, so the previous
-- event is the newest one stored (rows inserted earlier by the same statement are visible to a
-- row-level BEFORE trigger).
CREATE OR REPLACE FUNCTION events_assign_global_seq() RETURNS trigger AS
$$
DECLARE
    prev_seq  bigint;
    prev_hash bytea;
BEGIN
    PERFORM pg_advisory_xact_lock(7415562201);
    NEW.global_seq := nextval('events_global_seq');
    SELECT global_seq, chain_hash INTO prev_seq, prev_hash FROM events ORDER BY global_seq DESC LIMIT 1;
    NEW.chain_prev := coalesce(prev_seq, 0);
    NEW.chain_hash := events_chain_digest(coalesce(prev_hash, decode(repeat('00', 32), 'hex')),
                                          NEW.chain_prev, NEW);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- Runs of `facewatch verify`: bookkeeping for the Audit page, not facts (no events).
CREATE TABLE chain_verifications
(
    id               bigserial PRIMARY KEY,
    finished_at      timestamptz      NOT NULL DEFAULT now(),
    -- Position and hash of the last event checked (the chain head when intact).
    head_position    bigint           NOT NULL,
    head_hash        bytea,
    events           bigint           NOT NULL,
    intact           boolean          NOT NULL,
    -- ALTERED | REMOVED | INSERTED | REWRITTEN and the position it names, when broken.
    problem          text CHECK (problem IN ('ALTERED', 'REMOVED', 'INSERTED', 'REWRITTEN')),
    problem_position bigint,
    events_per_sec   double precision NOT NULL
);

-- Runs of `facewatch replay`. A matching run keeps its replayed read models in the schema
-- `audit_snapshot` at `position`, so that `facewatch replay --from-snapshot` only replays what
-- came after it.
CREATE TABLE replay_audits
(
    id             bigserial PRIMARY KEY,
    finished_at    timestamptz      NOT NULL DEFAULT now(),
    incremental    boolean          NOT NULL,
    from_position  bigint           NOT NULL,
    position       bigint           NOT NULL,
    events         bigint           NOT NULL,
    matches        boolean          NOT NULL,
    -- [{table, rows, checksum}] of the replayed side.
    tables         jsonb            NOT NULL,
    events_per_sec double precision NOT NULL
);
