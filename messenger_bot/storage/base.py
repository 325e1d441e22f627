"""The one small interface every store implements, and the state it keeps per user.

The engine asks for a user's state at the start of a turn and saves it at the end;
everything a conversation needs between two messages lives here, so any process
(or any of several instances) can answer any message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass
class UserState:
    """What the bot keeps about one user of one channel: no more than it needs."""

    channel: str
    user_key: str
    first_seen: datetime
    last_seen: datetime
    last_inbound_at: datetime | None = None
    notice_seen: bool = False
    last_menu: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    pending: dict[str, Any] | None = None
    country: str | None = None
    timezone: str | None = None
    paused_reason: str | None = None

    def describe(self) -> dict[str, Any]:
        """Everything stored, as a user may read it ("my data")."""
        return {
            "channel": self.channel,
            "user id": self.user_key,
            "first seen": self.first_seen.isoformat(timespec="seconds"),
            "last seen": self.last_seen.isoformat(timespec="seconds"),
            "welcome notice shown": self.notice_seen,
            "last menu shown": ", ".join(self.last_menu) or "none",
            "pages visited (for Back)": ", ".join(self.history) or "none",
            "country": self.country or "unknown",
            "time zone": self.timezone or "not set",
            "messages paused": self.paused_reason or "no",
        }


class Storage(Protocol):
    """A store of user state. Implementations: SQLite (default) and PostgreSQL."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool: ...

    async def load_user(self, channel: str, user_key: str) -> UserState | None: ...

    async def save_user(self, state: UserState) -> None: ...

    async def delete_user(self, channel: str, user_key: str) -> bool: ...
