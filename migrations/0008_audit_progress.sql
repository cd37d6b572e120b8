-- Audits in progress (issue 15): `facewatch replay` and `facewatch verify` are command-line
-- processes; each keeps one row here up to date (about once a second) while it runs, so that the
-- Audit page can show its progress. Bookkeeping, not facts: no events, and a rebuild of the read
-- models leaves it alone. A run deletes its row when it ends; its result goes to
-- `replay_audits` / `chain_verifications`.
CREATE TABLE audit_runs_in_progress
(
    id              bigserial PRIMARY KEY,
    -- REPLAY (full), REPLAY_INCREMENTAL (--from-snapshot) or VERIFY.
    kind            text             NOT NULL CHECK (kind IN ('REPLAY', 'REPLAY_INCREMENTAL', 'VERIFY')),
    -- REPLAYING (or VERIFYING) while events are read; COMPARING while the read models are
    -- fingerprinted; RECORDING while the result is stored.
    phase           text             NOT NULL CHECK (phase IN ('REPLAYING', 'VERIFYING', 'COMPARING', 'RECORDING')),
    host            text             NOT NULL,
    pid             integer          NOT NULL,
    -- The database session that writes this row: while it exists the run is alive. A process
    -- that dies closes it (PostgreSQL ends the session), so its row is recognisably stale at once;
    -- a process that hangs stops updating `updated_at`.
    backend_pid     integer          NOT NULL,
    started_at      timestamptz      NOT NULL DEFAULT now(),
    updated_at      timestamptz      NOT NULL DEFAULT now(),
    from_position   bigint           NOT NULL DEFAULT 0,
    position        bigint           NOT NULL DEFAULT 0,
    target_position bigint           NOT NULL DEFAULT 0,
    events          bigint           NOT NULL DEFAULT 0,
    events_per_sec  double precision NOT NULL DEFAULT 0
);
