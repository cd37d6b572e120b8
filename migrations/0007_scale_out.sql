-- Scale-out (issue 14): camera workers share the cameras through leases, and report what their
-- cameras do so that every API instance can show it. Like the integration cursors these rows are
-- coordination state, not facts: they are neither events nor read models, and a rebuild of the
-- read models leaves them alone. Every expiry is computed with the database's clock, so workers
-- on machines whose clocks disagree still agree on who holds what.

-- The camera workers alive (`facewatch worker`, and `facewatch serve` with cameras on). A worker
-- renews its row with every heartbeat; a row past `expires_at` is a dead worker.
CREATE TABLE camera_workers
(
    worker_id   text PRIMARY KEY,
    host        text        NOT NULL,
    max_cameras integer     NOT NULL CHECK (max_cameras > 0),
    started_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);

-- Who runs which camera. The primary key makes a camera run on one worker at a time; a lease past
-- `expires_at` (its worker died) may be taken over by another worker.
CREATE TABLE camera_leases
(
    camera_id   text PRIMARY KEY,
    worker_id   text        NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);

CREATE INDEX camera_leases_by_worker ON camera_leases (worker_id);

-- What a running camera reports, written by the worker that runs it: its health (JSON, the fields
-- of the API's CameraStatus) with every heartbeat, and its newest annotated frame about once a
-- second. One row per camera; a row not updated within its lease time is stale.
CREATE TABLE camera_status
(
    camera_id         text PRIMARY KEY,
    worker_id         text        NOT NULL,
    health            jsonb       NOT NULL,
    updated_at        timestamptz NOT NULL,
    frame             bytea,
    frame_captured_at timestamptz,
    frame_analysed_at timestamptz
);
