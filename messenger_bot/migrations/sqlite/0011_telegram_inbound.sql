-- Telegram joins the shared inbound de-duplication (channels/shared/dedup.py): its update ids move
-- into inbound_messages (channel 'telegram', the id as text), so an update delivered again across
-- the upgrade is still answered once, and its own table goes.
INSERT INTO inbound_messages (channel, message_id, received_at)
    SELECT 'telegram', CAST(update_id AS TEXT), received_at FROM telegram_updates;
DROP TABLE telegram_updates;
