-- Alert states by fingerprint, delivery records by (execution chain, channel, message
-- key), and the registered scheduler instances.

CREATE TABLE alert_states (
    rule_id        BIGINT      NOT NULL,
    app_id         BIGINT      NOT NULL,
    metric         TEXT        NOT NULL,
    segment        TEXT        NOT NULL DEFAULT '',
    status         TEXT        NOT NULL,
    breach_days    BIGINT      NOT NULL,
    last_day       DATE,
    since          TIMESTAMPTZ NOT NULL,
    last_notified  TIMESTAMPTZ,
    last_severity  TEXT,
    CONSTRAINT alert_states_pkey PRIMARY KEY (rule_id, app_id, metric, segment)
);
CREATE INDEX alert_states_app_idx ON alert_states (app_id);

CREATE TABLE deliveries (
    id            BIGSERIAL PRIMARY KEY,
    execution_id  BIGINT      NOT NULL,
    channel_id    BIGINT      NOT NULL,
    message_key   TEXT        NOT NULL,
    status        TEXT        NOT NULL,
    attempts      BIGINT      NOT NULL DEFAULT 1,
    error         TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT deliveries_key UNIQUE (execution_id, channel_id, message_key)
);

CREATE TABLE instances (
    id          TEXT        PRIMARY KEY,
    host        TEXT        NOT NULL,
    pid         BIGINT      NOT NULL,
    version     TEXT        NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    last_seen   TIMESTAMPTZ NOT NULL
);
