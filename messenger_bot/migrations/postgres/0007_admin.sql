-- Operators (issue 16, messenger_bot/admin).

-- Counts kept per UTC day, channel, metric and item (a topic id, an outcome, a reason), upserted
-- in small batches: the dashboard reads a few hundred of these rows, never the traffic itself.
CREATE TABLE admin_daily (
    day      TEXT    NOT NULL,
    channel  TEXT    NOT NULL,
    metric   TEXT    NOT NULL,
    item     TEXT    NOT NULL DEFAULT '',
    n        BIGINT NOT NULL,
    PRIMARY KEY (day, channel, metric, item)
);

-- Typed questions the bot could not answer, scrubbed of personal details before they are stored,
-- with no user key (nothing links one to a person), grouped by similar wording.
-- received_at is rounded down to the hour, so it cannot be matched with a user's last message.
CREATE TABLE unanswered_groups (
    id          BIGSERIAL PRIMARY KEY,
    sample      TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL
);
CREATE TABLE unanswered (
    id           BIGSERIAL PRIMARY KEY,
    group_id     BIGINT NOT NULL,
    text         TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    guess        TEXT,
    channel      TEXT NOT NULL,
    received_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX unanswered_received ON unanswered (received_at);
CREATE INDEX unanswered_group ON unanswered (group_id);

-- WhatsApp delivery errors by code for the dashboard: errors are few, so this index stays small.
CREATE INDEX whatsapp_outbound_errors ON whatsapp_outbound (updated_at) WHERE error_code IS NOT NULL;
