-- Daily metric points. The primary key (app, metric, segment, day) is the upsert key
-- and serves the history query: one series is one contiguous key range, a day range
-- or a day list is an index condition on its last column.
-- No foreign key to apps: the store checks the apps of a batch once (and locks them
-- against a concurrent delete) instead of a per-row check on every bulk insert.

CREATE TABLE metric_points (
    app_id   BIGINT           NOT NULL,
    metric   TEXT             NOT NULL,
    segment  TEXT             NOT NULL DEFAULT '',
    day      DATE             NOT NULL,
    value    DOUBLE PRECISION NOT NULL,
    CONSTRAINT metric_points_pkey PRIMARY KEY (app_id, metric, segment, day)
);

-- History for every app on a list of days (the analysis reads 34 days of 400) and
-- the latest day of an app: both start from the day.
CREATE INDEX metric_points_day_idx ON metric_points (day);
