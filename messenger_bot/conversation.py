"""The channel-neutral shapes that cross the line between a channel and the engine.

A channel adapter turns a platform event into an `Incoming` and renders each `Reply`;
the engine never sees HTTP, and an adapter never decides what to say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from messenger_bot.content import Button
from messenger_bot.emergency import country_for_phone

ReplyKind = Literal["alert", "topic", "menu", "reminder", "command", "fallback"]


#: What starts a button payload that asks for an action rather than a content node ("do:menu").
ACTION_PREFIX = "do:"


@dataclass(frozen=True)
class Incoming:
    """One message from a user: typed text, or the payload of a button they tapped."""

    channel: str
    user_key: str
    text: str | None = None
    button: str | None = None
    country: str | None = None
    phone: str | None = None
    non_text: bool = False
    #: The channel's hint of the user's language (Telegram's `language_code`, a browser's
    #: Accept-Language), a BCP 47 tag such as "es" or "pt-BR"; the user's own choice outranks it.
    language: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: The channel shows menus as numbered text (it has no buttons, or not here), so a bare
    #: number picks an option of the last menu. The channel's statement, not the engine's guess.
    numbered: bool = False

    def region(self) -> str | None:
        """The user's country: as the channel gave it, else worked out from their phone number.
        Only asked for when needed (a new user, an alert): it costs more than the rest of a turn."""
        if self.country or not self.phone:
            return self.country
        return country_for_phone(self.phone)


@dataclass(frozen=True)
class Attachment:
    """A file a reply carries (a chart, a PDF): its link for channels that fetch it, and its
    bytes for channels that upload it (Telegram). `label` names it for people and screen readers."""

    type: str
    url: str
    label: str
    filename: str
    data: bytes = field(repr=False, compare=False, default=b"")


@dataclass(frozen=True)
class Reply:
    """One message the bot sends; `topic` is set on content answers only."""

    kind: ReplyKind
    text: str
    buttons: tuple[Button, ...] = ()
    topic: str | None = None
    files: tuple[Attachment, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The `chat --json` shape the README fixes; `files` is added only when a reply has some."""
        shape: dict[str, Any] = {
            "kind": self.kind,
            "topic": self.topic,
            "text": self.text,
            "buttons": [{"label": b.label, "payload": b.payload} for b in self.buttons],
        }
        if self.files:
            shape["files"] = [{"type": f.type, "url": f.url, "label": f.label} for f in self.files]
        return shape
