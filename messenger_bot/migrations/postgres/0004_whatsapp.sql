-- WhatsApp through Twilio (issue 5).

-- Inbound messages already handled, by Twilio's MessageSid: a redelivered message is not answered twice.
-- Only the opaque sid and the time (no phone number), so it holds nothing about the user and costs
-- one index on a webhook's hot path besides the key.
CREATE TABLE whatsapp_inbound (
    message_sid  TEXT    NOT NULL PRIMARY KEY,
    received_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX whatsapp_inbound_received ON whatsapp_inbound (received_at);

-- Messages sent (REST, or TwiML replies once their status arrives), with Twilio's sid, state and error.
CREATE TABLE whatsapp_outbound (
    sid          TEXT    NOT NULL PRIMARY KEY,
    channel      TEXT    NOT NULL,
    user_key     TEXT    NOT NULL,
    kind         TEXT,
    content_sid  TEXT,
    status       TEXT    NOT NULL,
    status_rank  INTEGER NOT NULL DEFAULT 0,
    error_code   INTEGER,
    detail       TEXT,
    created_at   DOUBLE PRECISION NOT NULL,
    updated_at   DOUBLE PRECISION NOT NULL
);
CREATE INDEX whatsapp_outbound_user ON whatsapp_outbound (channel, user_key);

-- Content templates made by `messenger-bot whatsapp sync-templates`, one per set of menu buttons.
CREATE TABLE whatsapp_templates (
    template_key   TEXT NOT NULL PRIMARY KEY,
    content_sid    TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    friendly_name  TEXT NOT NULL,
    created_at     DOUBLE PRECISION NOT NULL
);
