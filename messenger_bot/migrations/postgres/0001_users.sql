-- Conversation state, one row per user of a channel.
CREATE TABLE users (
    channel          TEXT             NOT NULL,
    user_key         TEXT             NOT NULL,
    first_seen       DOUBLE PRECISION NOT NULL,
    last_seen        DOUBLE PRECISION NOT NULL,
    last_inbound_at  DOUBLE PRECISION,
    notice_seen      BOOLEAN          NOT NULL DEFAULT FALSE,
    last_menu        TEXT             NOT NULL DEFAULT '[]',
    history          TEXT             NOT NULL DEFAULT '[]',
    pending          TEXT,
    country          TEXT,
    timezone         TEXT,
    paused_reason    TEXT,
    PRIMARY KEY (channel, user_key)
);
