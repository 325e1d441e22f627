-- Telegram update ids already handled, so a redelivered update is answered once.
-- Telegram keeps an undelivered update for 24 hours; rows older than two days are pruned.
CREATE TABLE telegram_updates (
    update_id    BIGINT           NOT NULL PRIMARY KEY,
    received_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX telegram_updates_received_at ON telegram_updates (received_at);
