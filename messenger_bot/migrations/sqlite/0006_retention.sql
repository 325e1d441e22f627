-- Retention (messenger_bot/retention.py): finding the rows whose time is up without reading every row.
CREATE INDEX users_last_seen ON users (channel, last_seen);
CREATE INDEX whatsapp_outbound_updated ON whatsapp_outbound (updated_at);
