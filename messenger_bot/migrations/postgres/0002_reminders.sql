-- Reminders: the database is the source of truth (no per-user job in memory).
-- One subscription per user and kind; `spec` is JSON ({"every_hours", "start", "end"} or {"times"}).
-- `next_due_at` (UTC epoch) is indexed for the due claim; `claimed_until` is the lease of a
-- dispatcher working on the row (and, after a failure, the earliest retry).
CREATE TABLE reminder_subscriptions (
    id             BIGSERIAL PRIMARY KEY,
    channel        TEXT    NOT NULL,
    user_key       TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    spec           TEXT    NOT NULL,
    timezone       TEXT    NOT NULL,
    active         INTEGER NOT NULL DEFAULT 1,
    paused_reason  TEXT,
    next_due_at    DOUBLE PRECISION,
    claimed_until  DOUBLE PRECISION,
    attempts       INTEGER NOT NULL DEFAULT 0,
    created_at     DOUBLE PRECISION    NOT NULL,
    updated_at     DOUBLE PRECISION    NOT NULL,
    UNIQUE (channel, user_key, kind)
);
CREATE INDEX reminder_subscriptions_due ON reminder_subscriptions (channel, next_due_at) WHERE active = 1;

-- One row per due time of a subscription: written (pending) before the send, so a restart
-- never sends the same due time twice. status: pending, sent, failed, skipped, interrupted.
CREATE TABLE reminder_outbox (
    id               BIGSERIAL PRIMARY KEY,
    subscription_id  BIGINT  NOT NULL,
    channel          TEXT    NOT NULL,
    user_key         TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    due_at           DOUBLE PRECISION    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    provider_id      TEXT,
    reason           TEXT,
    created_at       DOUBLE PRECISION    NOT NULL,
    updated_at       DOUBLE PRECISION    NOT NULL,
    UNIQUE (subscription_id, due_at)
);
CREATE INDEX reminder_outbox_user ON reminder_outbox (channel, user_key);
CREATE INDEX reminder_outbox_status ON reminder_outbox (status, due_at);

-- Glasses of water marked Done, per day in the user's own zone.
CREATE TABLE water_log (
    channel   TEXT    NOT NULL,
    user_key  TEXT    NOT NULL,
    day       TEXT    NOT NULL,
    glasses   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, user_key, day)
);

-- Caffeinated drinks logged, each with its milligrams and the day in the user's zone.
CREATE TABLE caffeine_log (
    id        BIGSERIAL PRIMARY KEY,
    channel   TEXT    NOT NULL,
    user_key  TEXT    NOT NULL,
    day       TEXT    NOT NULL,
    drink     TEXT    NOT NULL,
    mg        INTEGER NOT NULL,
    logged_at DOUBLE PRECISION    NOT NULL
);
CREATE INDEX caffeine_log_day ON caffeine_log (channel, user_key, day);
