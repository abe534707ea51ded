-- Configuration records. Each keeps its spec as JSON in `spec`; the columns beside it
-- exist for uniqueness (names per kind, apps per platform and bundle id).
-- AUTOINCREMENT: ids are never reused after a delete, as in every storewatch store.

CREATE TABLE apps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    name        TEXT NOT NULL,
    platform    TEXT NOT NULL,
    bundle_id   TEXT NOT NULL,
    spec        TEXT NOT NULL
);
CREATE UNIQUE INDEX apps_name ON apps (name);
CREATE UNIQUE INDEX apps_platform_bundle_id ON apps (platform, bundle_id);

-- Credential and channel ids are reserved before creation, so a secret can be sealed
-- for its record id first.
CREATE TABLE credential_ids (id INTEGER PRIMARY KEY AUTOINCREMENT);
CREATE TABLE credentials (
    id          INTEGER PRIMARY KEY REFERENCES credential_ids (id),
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    name        TEXT NOT NULL,
    spec        TEXT NOT NULL
);
CREATE UNIQUE INDEX credentials_name ON credentials (name);

CREATE TABLE channel_ids (id INTEGER PRIMARY KEY AUTOINCREMENT);
CREATE TABLE channels (
    id          INTEGER PRIMARY KEY REFERENCES channel_ids (id),
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    name        TEXT NOT NULL,
    spec        TEXT NOT NULL
);
CREATE UNIQUE INDEX channels_name ON channels (name);

CREATE TABLE rules (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    name        TEXT NOT NULL,
    spec        TEXT NOT NULL
);
CREATE UNIQUE INDEX rules_name ON rules (name);

CREATE TABLE reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    name        TEXT NOT NULL,
    spec        TEXT NOT NULL
);
CREATE UNIQUE INDEX reports_name ON reports (name);

CREATE TABLE schedules (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    name        TEXT NOT NULL,
    spec        TEXT NOT NULL
);
CREATE UNIQUE INDEX schedules_name ON schedules (name);
