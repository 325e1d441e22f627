"""What a Twilio channel keeps about messages it sent: each one's sid, state and error code.

All through the store's portable SQL primitives, so SQLite and PostgreSQL share it. The
table (`whatsapp_outbound`, named for the first Twilio channel) has a `channel` column, so
WhatsApp and SMS share it. A pause Twilio causes (an error code) is the engine's BLOCKED,
which the engine lifts when the user next writes; the user's own STOP is never overwritten.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from messenger_bot.storage import BLOCKED, STOPPED, Storage
from messenger_bot.storage.base import ts

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


class TwilioStore:
    """One Twilio channel's view of the store."""

    def __init__(self, store: Storage, channel: str, stop_codes: frozenset[int] = frozenset()) -> None:
        self.store = store
        self.channel = channel
        #: Error codes that are the user's own STOP on this channel (SMS: 21610, the carrier's opt-out).
        self.stop_codes = stop_codes

    async def pause(self, user_key: str, code: int | None = None) -> None:
        """Nothing more goes to this user until they write (the engine then lifts BLOCKED), or, for
        an error code that is the user's own STOP, until they send START. A STOP already in place
        stays as it is. Why is kept with the message, in whatsapp_outbound."""
        reason = STOPPED if code in self.stop_codes else BLOCKED
        await self.store.pause_user(self.channel, user_key, reason)

    async def set_last_menu(self, user_key: str, payloads: list[str]) -> None:
        """A numbered menu sent first (a reminder's buttons) is the one a typed number picks."""
        await self.store.set_last_menu(self.channel, user_key, payloads)

    async def record(
        self, sid: str | None, user_key: str, status: str, now: datetime, *, kind: str | None = None,
        content_sid: str | None = None, error_code: int | None = None, detail: str | None = None,
    ) -> None:
        """A message's state, from the REST answer or a status callback (whichever comes first);
        dropped when the user is unknown (deleted their data, or expired), so nothing comes back."""
        await self.store.execute(
            _RECORD_STATUS, sid or f"local-{uuid.uuid4().hex}", self.channel, user_key, kind, content_sid,
            status, STATUS_RANK.get(status, 0), error_code, detail, ts(now), ts(now), self.channel, user_key,
        )
