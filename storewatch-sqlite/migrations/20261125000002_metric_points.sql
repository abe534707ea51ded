-- Daily metric points. `day` is days since 1970-01-01; segment '' is the total.
-- The primary key (app, metric, segment, day) serves upserts and per-app history;
-- metric_points_day serves history over every app for a set of days (the daily
-- analysis reads 34 days of every series) without touching the rest of the table.
CREATE TABLE metric_points (
    app_id   INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    metric   TEXT NOT NULL,
    segment  TEXT NOT NULL,
    day      INTEGER NOT NULL,
    value    REAL NOT NULL,
    PRIMARY KEY (app_id, metric, segment, day)
) WITHOUT ROWID;
CREATE INDEX metric_points_day ON metric_points (day, app_id, metric, segment, value);
