-- Configuration records. The spec is kept as JSONB (the serde form of the core spec
-- types); the columns that carry a uniqueness rule are generated from it, so the rule
-- is a real unique index and can never drift from the stored spec.

CREATE TABLE apps (
    id          BIGSERIAL PRIMARY KEY,
    version     BIGINT      NOT NULL DEFAULT 1,
    spec        JSONB       NOT NULL,
    name        TEXT        NOT NULL GENERATED ALWAYS AS (spec ->> 'name') STORED,
    platform    TEXT        NOT NULL GENERATED ALWAYS AS (spec ->> 'platform') STORED,
    bundle_id   TEXT        NOT NULL GENERATED ALWAYS AS (spec ->> 'bundle_id') STORED,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT apps_name_key UNIQUE (name),
    CONSTRAINT apps_platform_bundle_id_key UNIQUE (platform, bundle_id)
);

CREATE TABLE credentials (
    id          BIGSERIAL PRIMARY KEY,
    version     BIGINT      NOT NULL DEFAULT 1,
    spec        JSONB       NOT NULL,
    name        TEXT        NOT NULL GENERATED ALWAYS AS (spec ->> 'name') STORED,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT credentials_name_key UNIQUE (name)
);

CREATE TABLE channels (
    id          BIGSERIAL PRIMARY KEY,
    version     BIGINT      NOT NULL DEFAULT 1,
    spec        JSONB       NOT NULL,
    name        TEXT        NOT NULL GENERATED ALWAYS AS (spec ->> 'name') STORED,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT channels_name_key UNIQUE (name)
);

CREATE TABLE rules (
    id          BIGSERIAL PRIMARY KEY,
    version     BIGINT      NOT NULL DEFAULT 1,
    spec        JSONB       NOT NULL,
    name        TEXT        NOT NULL GENERATED ALWAYS AS (spec ->> 'name') STORED,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT rules_name_key UNIQUE (name)
);

CREATE TABLE reports (
    id          BIGSERIAL PRIMARY KEY,
    version     BIGINT      NOT NULL DEFAULT 1,
    spec        JSONB       NOT NULL,
    name        TEXT        NOT NULL GENERATED ALWAYS AS (spec ->> 'name') STORED,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT reports_name_key UNIQUE (name)
);

CREATE TABLE schedules (
    id          BIGSERIAL PRIMARY KEY,
    version     BIGINT      NOT NULL DEFAULT 1,
    spec        JSONB       NOT NULL,
    name        TEXT        NOT NULL GENERATED ALWAYS AS (spec ->> 'name') STORED,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT schedules_name_key UNIQUE (name)
);
