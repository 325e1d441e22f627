-- One table for every channel's inbound de-duplication (channels/shared/dedup.py), keyed by the
-- channel and its provider's message id (Twilio's MessageSid, for WhatsApp and SMS alike).
-- Only the opaque id and the time (no phone number, no text), pruned after DEDUP_DAYS.
CREATE TABLE inbound_messages (
    channel      TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    received_at  REAL NOT NULL,
    PRIMARY KEY (channel, message_id)
);
CREATE INDEX inbound_messages_received ON inbound_messages (received_at);

-- WhatsApp's own table before it: its ids move over, so a redelivery across the upgrade is still
-- answered once.
INSERT INTO inbound_messages (channel, message_id, received_at)
    SELECT 'whatsapp', message_sid, received_at FROM whatsapp_inbound;
DROP TABLE whatsapp_inbound;
