-- Executions, alert states, deliveries and scheduler instances.

CREATE TABLE executions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    -- no foreign key: a deleted schedule's executions stay with its id
    schedule_id         INTEGER,
    trigger             TEXT NOT NULL,
    status              TEXT NOT NULL,
    task                TEXT NOT NULL,
    app_id              INTEGER,
    target_date         INTEGER NOT NULL,
    slot_at             TEXT,
    run_after           TEXT NOT NULL,
    retry_of            INTEGER,
    attempt             INTEGER NOT NULL,
    max_retries         INTEGER NOT NULL,
    timeout_ns          INTEGER NOT NULL,
    skip_notifications  INTEGER NOT NULL,
    claimed_by          TEXT,
    lease_until         TEXT,
    cancel_requested    INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    started_at          TEXT,
    completed_at        TEXT,
    duration_ns         INTEGER,
    success_count       INTEGER NOT NULL DEFAULT 0,
    error_count         INTEGER NOT NULL DEFAULT 0,
    alerts_generated    INTEGER NOT NULL DEFAULT 0,
    notifications_sent  INTEGER NOT NULL DEFAULT 0,
    output_log          TEXT NOT NULL DEFAULT '',
    error_log           TEXT NOT NULL DEFAULT ''
);
-- One execution per schedule slot, whoever inserts it.
CREATE UNIQUE INDEX executions_slot ON executions (schedule_id, slot_at)
    WHERE schedule_id IS NOT NULL AND slot_at IS NOT NULL;
-- The queue: pending executions by when they may run.
CREATE INDEX executions_queue ON executions (run_after, id) WHERE status = 'pending';
-- Lease expiry: running executions by lease end.
CREATE INDEX executions_leases ON executions (lease_until) WHERE status = 'running';
CREATE INDEX executions_schedule ON executions (schedule_id, id);
CREATE INDEX executions_status ON executions (status, id);

-- No foreign keys: states go with their app or rule through explicit deletes.
CREATE TABLE alert_states (
    rule_id        INTEGER NOT NULL,
    app_id         INTEGER NOT NULL,
    metric         TEXT NOT NULL,
    segment        TEXT NOT NULL,
    status         TEXT NOT NULL,
    breach_days    INTEGER NOT NULL,
    last_day       INTEGER,
    since          TEXT NOT NULL,
    last_notified  TEXT,
    last_severity  TEXT,
    PRIMARY KEY (rule_id, app_id, metric, segment)
) WITHOUT ROWID;
CREATE INDEX alert_states_app ON alert_states (app_id);

CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id  INTEGER NOT NULL,
    channel_id    INTEGER NOT NULL,
    message_key   TEXT NOT NULL,
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    error         TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX deliveries_key ON deliveries (execution_id, channel_id, message_key);

CREATE TABLE instances (
    id          TEXT PRIMARY KEY,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    version     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
) WITHOUT ROWID;
