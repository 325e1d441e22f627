-- The twitch diary: health data, so every table carries channel and user_key ("delete my data").
-- One row per thing the user told the diary: a twitch (count, lip, side, duration, triggers),
-- something they tried, or a follow-up answer. `day` is the date in the user's own zone.
CREATE TABLE diary_entries (
    id         BIGSERIAL PRIMARY KEY,
    channel    TEXT    NOT NULL,
    user_key   TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    logged_at  DOUBLE PRECISION    NOT NULL,
    day        TEXT    NOT NULL,
    count      INTEGER NOT NULL DEFAULT 1,
    lip        TEXT,
    side       TEXT,
    duration   TEXT,
    tags       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX diary_entries_user ON diary_entries (channel, user_key, day);

-- A follow-up the user asked for ("check on me in a week"): the database is the source of truth.
-- status: scheduled, sending (written before the send), sent, skipped, failed, interrupted, cancelled.
CREATE TABLE diary_followups (
    id             BIGSERIAL PRIMARY KEY,
    channel        TEXT    NOT NULL,
    user_key       TEXT    NOT NULL,
    timezone       TEXT    NOT NULL,
    due_at         DOUBLE PRECISION    NOT NULL,
    status         TEXT    NOT NULL,
    claimed_until  DOUBLE PRECISION,
    attempts       INTEGER NOT NULL DEFAULT 0,
    provider_id    TEXT,
    reason         TEXT,
    created_at     DOUBLE PRECISION    NOT NULL,
    updated_at     DOUBLE PRECISION    NOT NULL
);
CREATE INDEX diary_followups_due ON diary_followups (channel, status, due_at);
CREATE INDEX diary_followups_user ON diary_followups (channel, user_key);

-- Rendered summaries (chart and PDF) behind expiring links; deleted once expired.
CREATE TABLE diary_files (
    id          TEXT    PRIMARY KEY,
    channel     TEXT    NOT NULL,
    user_key    TEXT    NOT NULL,
    mime        TEXT    NOT NULL,
    body        BYTEA    NOT NULL,
    expires_at  DOUBLE PRECISION    NOT NULL
);
CREATE INDEX diary_files_user ON diary_files (channel, user_key);
CREATE INDEX diary_files_expiry ON diary_files (expires_at);

-- The key that signs file links, made once per database so every instance agrees on it.
CREATE TABLE diary_keys (
    name    TEXT PRIMARY KEY,
    secret  TEXT NOT NULL
);
