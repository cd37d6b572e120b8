-- Outbound integrations (issue 13): MQTT and webhooks follow the event log with their own
-- checkpoints and keep their delivery state here. These rows are delivery bookkeeping, not facts:
-- replaying the log must never send a webhook or an MQTT message again, so they are neither
-- events nor read models (a rebuild of the read models leaves them alone).

-- Where each publisher is in the log (`mqtt`, `webhooks`). The first start begins at the head:
-- integrations announce what happens from then on, not the history.
CREATE TABLE integration_cursors
(
    name      text PRIMARY KEY,
    event_seq bigint NOT NULL
);

-- MQTT messages planned but not yet acknowledged by the broker (QoS 1), in the order planned.
-- Rows are deleted once the broker has acknowledged them, so the table holds only a backlog.
CREATE TABLE mqtt_outbox
(
    id         bigserial PRIMARY KEY,
    topic      text        NOT NULL,
    payload    text        NOT NULL,
    retain     boolean     NOT NULL,
    planned_at timestamptz NOT NULL DEFAULT now()
);

-- The retained state last planned for each topic: a change is published once, a restart
-- republishes nothing that is unchanged, and a topic no longer wanted (a deleted employee, a
-- removed camera, an old prefix) is cleared on the broker. One row per retained topic.
CREATE TABLE mqtt_retained
(
    topic      text PRIMARY KEY,
    payload    text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One webhook POST per (endpoint, event, notice). PENDING rows are retried with backoff; DELIVERED
-- rows are pruned after a week; DEAD rows (attempts exhausted) are the dead-letter list shown on
-- the dashboard, capped in number by the publisher.
CREATE TABLE webhook_deliveries
(
    id              bigserial PRIMARY KEY,
    endpoint        text        NOT NULL,
    seq             bigint      NOT NULL,
    notice_key      text        NOT NULL,
    event_type      text        NOT NULL,
    body            jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'PENDING'
                    CHECK (status IN ('PENDING', 'DELIVERED', 'DEAD')),
    attempts        int         NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    UNIQUE (endpoint, seq, notice_key)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (finished_at) WHERE status = 'DEAD';
