"""What the WhatsApp channel keeps: inbound MessageSids, sent messages and their fate, templates.

All through the store's portable SQL primitives, so SQLite and PostgreSQL share it.
A pause Twilio causes (an error code) is the engine's BLOCKED, which the engine lifts
when the user next writes; the user's own STOP is never overwritten by it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from messenger_bot.storage import BLOCKED, Storage
from messenger_bot.storage.base import ts

CHANNEL = "whatsapp"
#: A MessageSid is remembered this long; Twilio redelivers within minutes, not days. The
#: retention job (DEDUP_DAYS, default the same) may forget sooner.
INBOUND_KEEP = timedelta(days=2)

#: Later states never give way to earlier ones (callbacks can arrive out of order).
STATUS_RANK = {
    "accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3, "delivered": 4, "read": 5,
    "undelivered": 6, "failed": 6, "canceled": 6, "skipped": 6,
}

#: A message's state is kept only while the bot still knows its user: the status callbacks of the
#: reply confirming "delete my data" arrive after the rows are gone, and must not bring the number
#: back. The casts give PostgreSQL the column types an INSERT … SELECT does not infer.
_RECORD_STATUS = (
    "INSERT INTO whatsapp_outbound (sid, channel, user_key, kind, content_sid, status, status_rank, "
    "error_code, detail, created_at, updated_at) SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), "
    "CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS INTEGER), "
    "CAST(? AS TEXT), CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION) "
    "WHERE EXISTS (SELECT 1 FROM users WHERE channel = ? AND user_key = ?) "
    "ON CONFLICT (sid) DO UPDATE SET status = excluded.status, status_rank = excluded.status_rank, "
    "error_code = COALESCE(excluded.error_code, whatsapp_outbound.error_code), "
    "updated_at = excluded.updated_at WHERE excluded.status_rank >= whatsapp_outbound.status_rank"
)


class WhatsAppStore:
    def __init__(self, store: Storage) -> None:
        self.store = store

    async def first_delivery(self, message_sid: str, now: datetime) -> bool:
        """True the first time a MessageSid is seen; False for Twilio's redelivery of it."""
        count = await self.store.execute(
            "INSERT INTO whatsapp_inbound (message_sid, received_at) VALUES (?, ?) "
            "ON CONFLICT (message_sid) DO NOTHING",
            message_sid, ts(now),
        )
        return count > 0

    async def release(self, message_sid: str) -> None:
        """Forget a MessageSid whose answer failed, so Twilio's retry of it is answered."""
        await self.store.execute("DELETE FROM whatsapp_inbound WHERE message_sid = ?", message_sid)

    async def forget_old_inbound(self, now: datetime) -> int:
        return await self.store.execute(
            "DELETE FROM whatsapp_inbound WHERE received_at < ?", ts(now - INBOUND_KEEP)
        )

    async def pause(self, user_key: str) -> None:
        """Nothing more goes to this user until they write (the engine then lifts BLOCKED); a STOP
        already in place stays as it is. Why is kept with the message, in whatsapp_outbound."""
        await self.store.pause_user(CHANNEL, user_key, BLOCKED)

    async def set_last_menu(self, user_key: str, payloads: list[str]) -> None:
        """A numbered menu sent first (a reminder's buttons) is the one a typed number picks."""
        await self.store.set_last_menu(CHANNEL, user_key, payloads)

    async def record(
        self, sid: str | None, user_key: str, status: str, now: datetime, *, kind: str | None = None,
        content_sid: str | None = None, error_code: int | None = None, detail: str | None = None,
    ) -> None:
        """A message's state, from the REST answer or a status callback (whichever comes first);
        dropped when the user is unknown (deleted their data, or expired), so nothing comes back."""
        await self.store.execute(
            _RECORD_STATUS, sid or f"local-{uuid.uuid4().hex}", CHANNEL, user_key, kind, content_sid, status,
            STATUS_RANK.get(status, 0), error_code, detail, ts(now), ts(now), CHANNEL, user_key,
        )

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
