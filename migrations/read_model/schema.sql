-- Read models (CQRS query side). Everything here is derived from the event log and can be dropped
-- and rebuilt at any time: `facewatch replay` builds a copy in another schema and compares.
-- Applied by the projections crate with search_path set to the target schema; never by sqlx migrate.

CREATE TABLE checkpoint
(
    id            int PRIMARY KEY CHECK (id = 1),
    last_seq      bigint NOT NULL,
    -- Fingerprint of this file: a changed read model is rebuilt from the log instead of migrated.
    model_version text   NOT NULL
);

CREATE TABLE employees
(
    id          text PRIMARY KEY,
    name        text        NOT NULL,
    code        text        NOT NULL,
    department  text        NOT NULL,
    status      text        NOT NULL, -- ACTIVE | INACTIVE | DELETED
    templates   int         NOT NULL DEFAULT 0,
    enrolled_at timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX employees_code ON employees (code);

CREATE TABLE face_templates
(
    template_id text PRIMARY KEY,
    employee_id text        NOT NULL,
    pose        text        NOT NULL,
    model_id    text        NOT NULL,
    embedding   real[]      NOT NULL,
    added_at    timestamptz NOT NULL,
    source      text, -- UPLOAD | WEBCAM | VISITOR | EMBEDDING; null before the face library
    photo_ref   text  -- the photo it was made from, when kept (data-dir reference)
);
CREATE INDEX face_templates_employee ON face_templates (employee_id);

CREATE TABLE cameras
(
    id         text PRIMARY KEY,
    name       text        NOT NULL,
    location   text        NOT NULL,
    -- Server-side only: never returned to API clients (they get a redacted form).
    stream_url text        NOT NULL,
    enabled    boolean     NOT NULL,
    added_at   timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Every schedule ever in force, keyed by the event that made it.
CREATE TABLE schedule_versions
(
    seq          bigint PRIMARY KEY,
    effective_at timestamptz NOT NULL,
    snapshot     jsonb       NOT NULL
);
CREATE INDEX schedule_versions_effective ON schedule_versions (effective_at, seq);

CREATE TABLE presence
(
    employee_id  text PRIMARY KEY,
    present      boolean     NOT NULL,
    since        timestamptz,
    last_seen    timestamptz NOT NULL,
    camera_id    text        NOT NULL,
    snapshot_ref text
);

CREATE TABLE attendance
(
    employee_id      text        NOT NULL,
    day              date        NOT NULL,
    first_in         timestamptz,
    first_in_camera  text,
    first_in_photo   text,
    last_out         timestamptz,
    last_out_camera  text,
    last_out_photo   text,
    entry_type       text        NOT NULL, -- AUTO | MANUAL | SYSTEM
    note             text        NOT NULL DEFAULT '',
    PRIMARY KEY (employee_id, day)
);
CREATE INDEX attendance_day ON attendance (day);

CREATE TABLE alerts
(
    id                    bigint PRIMARY KEY, -- position of the exit event in the log
    employee_id           text        NOT NULL,
    camera_id             text        NOT NULL,
    raised_at             timestamptz NOT NULL,
    detected_at           timestamptz NOT NULL,
    resolved_at           timestamptz,
    reason                text        NOT NULL,
    schedule_effective_at timestamptz,
    schedule              jsonb       NOT NULL,
    -- The photo of the employee's last sighting before the exit.
    snapshot_ref          text,
    -- Follow-up: who acknowledged the alert (the event's actor), when, and their note.
    acknowledged_at       timestamptz,
    acknowledged_by       text,
    ack_note              text
);
CREATE INDEX alerts_raised ON alerts (raised_at);
CREATE INDEX alerts_open ON alerts (employee_id) WHERE resolved_at IS NULL;

-- Rate limiting remembers the last alert even if alert logs are reset.
CREATE TABLE alert_state
(
    employee_id   text PRIMARY KEY,
    last_alert_at timestamptz NOT NULL
);

-- Audit browser of the log (sightings, transitions, admin changes). "Reset logs" empties ranges of
-- this table; the events themselves stay.
CREATE TABLE event_log
(
    seq            bigint PRIMARY KEY,
    at             timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    event_type     text        NOT NULL,
    employee_id    text,
    camera_id      text,
    payload        jsonb       NOT NULL,
    -- Who caused the event (`user:alice`, `camera:CAM1`, `system:absence-watcher`, `cli`) and the
    -- request it belongs to; null for events stored before commands carried them.
    actor          text,
    correlation_id text
);
CREATE INDEX event_log_at ON event_log (at);

-- Dashboard users (the argon2 hash is needed to check logins; the audit copy in event_log is redacted).
CREATE TABLE users
(
    username      text PRIMARY KEY,
    password_hash text        NOT NULL,
    role          text        NOT NULL, -- ADMIN | VIEWER
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- Unknown visitors: one row per track settled as unknown, grouped by embedding similarity (the
-- group id is the id of its first face; see projections/src/visitors.rs).
CREATE TABLE unknown_faces
(
    id           text PRIMARY KEY,
    camera_id    text           NOT NULL,
    seen_at      timestamptz    NOT NULL,
    track_id     bigint         NOT NULL,
    snapshot_ref text,
    model_id     text           NOT NULL,
    embedding    real[]         NOT NULL,
    group_id     text           NOT NULL,
    -- VisitorStatus (a text column: the read model is rebuilt in scratch schemas, where a
    -- schema-local enum type would not match the one the connection cached).
    status       text           NOT NULL DEFAULT 'OPEN'
        CHECK (status IN ('OPEN', 'ENROLLED', 'ATTACHED', 'DISMISSED')),
    employee_id  text,
    resolved_at  timestamptz
);
CREATE INDEX unknown_faces_open ON unknown_faces (status, seen_at);
CREATE INDEX unknown_faces_group ON unknown_faces (group_id);
