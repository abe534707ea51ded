-- Executions: slots, the queue, leases. Times that coordinate instances (run_after,
-- lease_until) are compared with the database's now(), never a client's clock.

CREATE TABLE executions (
    id                 BIGSERIAL PRIMARY KEY,
    schedule_id        BIGINT,
    trigger            TEXT        NOT NULL,
    status             TEXT        NOT NULL,
    task               TEXT        NOT NULL,
    app_id             BIGINT,
    target_date        DATE        NOT NULL,
    slot_at            TIMESTAMPTZ,
    run_after          TIMESTAMPTZ NOT NULL,
    retry_of           BIGINT,
    attempt            BIGINT      NOT NULL,
    max_retries        BIGINT      NOT NULL,
    timeout_ms         BIGINT      NOT NULL,
    skip_notifications BOOLEAN     NOT NULL DEFAULT FALSE,
    claimed_by         TEXT,
    lease_until        TIMESTAMPTZ,
    cancel_requested   BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at         TIMESTAMPTZ,
    completed_at       TIMESTAMPTZ,
    success_count      BIGINT      NOT NULL DEFAULT 0,
    error_count        BIGINT      NOT NULL DEFAULT 0,
    alerts_generated   BIGINT      NOT NULL DEFAULT 0,
    notifications_sent BIGINT      NOT NULL DEFAULT 0,
    output_log         TEXT        NOT NULL DEFAULT '',
    error_log          TEXT        NOT NULL DEFAULT '',
    CONSTRAINT executions_status_check CHECK (status IN
        ('pending', 'running', 'success', 'failed', 'timeout', 'cancelled', 'skipped'))
);

-- One execution per schedule slot, whatever the number of instances inserting it.
-- (Manual runs have no slot: NULLs never collide.)
CREATE UNIQUE INDEX executions_slot_key ON executions (schedule_id, slot_at);

-- The claim queue: only pending rows, in claim order.
CREATE INDEX executions_queue_idx ON executions (run_after, id) WHERE status = 'pending';

-- The reaper: running rows by lease end.
CREATE INDEX executions_lease_idx ON executions (lease_until) WHERE status = 'running';

-- Listing newest first, optionally by schedule.
CREATE INDEX executions_schedule_idx ON executions (schedule_id, id);
