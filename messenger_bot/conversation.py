"""The channel-neutral shapes that cross the line between a channel and the engine.

A channel adapter turns a platform event into an `Incoming` and renders each `Reply`;
the engine never sees HTTP, and an adapter never decides what to say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from messenger_bot.content import Button

ReplyKind = Literal["alert", "topic", "menu", "reminder", "command", "fallback"]

#: Channels that show menus as numbered text, so a bare number picks an option.
NUMBERED_CHANNELS = frozenset({"console", "whatsapp"})


@dataclass(frozen=True)
class Incoming:
    """One message from a user: typed text, or the payload of a button they tapped."""

    channel: str
    user_key: str
    text: str | None = None
    button: str | None = None
    country: str | None = None
    non_text: bool = False
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def numbered(self) -> bool:
        return self.channel in NUMBERED_CHANNELS


@dataclass(frozen=True)
class Reply:
    """One message the bot sends; `topic` is set on content answers only."""

    kind: ReplyKind
    text: str
    buttons: tuple[Button, ...] = ()
    topic: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The `chat --json` shape of DESIGN.md (fixed)."""
        return {
            "kind": self.kind,
            "topic": self.topic,
            "text": self.text,
            "buttons": [{"label": b.label, "payload": b.payload} for b in self.buttons],
        }
