-- Conversation state, one row per user of a channel.
CREATE TABLE users (
    channel          TEXT             NOT NULL,
    user_key         TEXT             NOT NULL,
    first_seen       DOUBLE PRECISION NOT NULL,
    last_seen        DOUBLE PRECISION NOT NULL,
    last_inbound_at  DOUBLE PRECISION,
    notice_seen      INTEGER          NOT NULL DEFAULT 0,
    last_menu        TEXT             NOT NULL DEFAULT '[]',
    history          TEXT             NOT NULL DEFAULT '[]',
    pending          TEXT,
    country          TEXT,
    timezone         TEXT,
    paused_reason    TEXT,
    PRIMARY KEY (channel, user_key)
);
