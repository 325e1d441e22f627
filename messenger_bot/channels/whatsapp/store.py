"""What the WhatsApp channel keeps beside every Twilio channel's: its menu templates."""

from __future__ import annotations

from datetime import datetime

from messenger_bot.channels.twilio.store import TwilioStore
from messenger_bot.channels.whatsapp.form import CHANNEL
from messenger_bot.storage import Storage
from messenger_bot.storage.base import ts


class WhatsAppStore(TwilioStore):
    def __init__(self, store: Storage) -> None:
        super().__init__(store, CHANNEL)

    async def templates(self) -> dict[str, str]:
        rows = await self.store.fetch("SELECT template_key, content_sid FROM whatsapp_templates")
        return {row[0]: row[1] for row in rows}

    async def save_template(
        self, key: str, content_sid: str, content_type: str, name: str, now: datetime
    ) -> None:
        await self.store.execute(
            "INSERT INTO whatsapp_templates (template_key, content_sid, content_type, friendly_name, "
            "created_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (template_key) DO UPDATE SET content_sid = excluded.content_sid",
            key, content_sid, content_type, name, ts(now),
        )
