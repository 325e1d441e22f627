"""Replies as Telegram messages: safe HTML, paragraph-sized pieces, inline keyboards.

The content marks bold with single asterisks. Telegram's Markdown would choke on a
stray `_` or `*` in ordinary prose, so text is HTML-escaped first and only matched
`*pairs*` become `<b>` tags: nothing a content writer types can break a message.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from telegram.constants import InlineKeyboardButtonLimit, MessageLimit

from messenger_bot.conversation import Attachment, Reply

LIMIT = MessageLimit.MAX_TEXT_LENGTH
DATA_LIMIT = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
#: Callback data of a button on a message that must stay in the chat (an alert): a tap
#: on it sends its answer as a new message instead of editing the alert away.
KEEP = "!"
#: Callback data standing for a payload too long for Telegram's 64 bytes.
HASHED = "#"
#: An inline keyboard as the Bot API's JSON (`reply_markup`), sent as it is (see calls.py).
Keyboard = dict[str, Any]
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")


@dataclass(frozen=True)
class Rendered:
    """One Telegram message: HTML text and, on the last piece of a reply, its keyboard."""

    html: str
    plain: str
    keyboard: Keyboard | None = None
    #: A chart (sent as a photo) or a PDF (as a document) instead of text.
    file: Attachment | None = None


def to_html(text: str) -> str:
    return _BOLD.sub(r"<b>\1</b>", html.escape(text.strip(), quote=False))


def split_text(text: str, limit: int = LIMIT) -> list[str]:
    """Pieces whose HTML fits the limit, cut between paragraphs, else lines, else words."""
    text = text.strip()
    if len(to_html(text)) <= limit:
        return [text]
    for separator in ("\n\n", "\n", " "):
        parts = text.split(separator)
        if len(parts) > 1:
            return _pack(parts, separator, limit)
    step = limit // 5  # one enormous "word": cut it, leaving room for escaping (& -> &amp;)
    return [text[i:i + step] for i in range(0, len(text), step)]


def _pack(parts: list[str], separator: str, limit: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current}{separator}{part}" if current else part
        if len(to_html(candidate)) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        if len(to_html(part)) <= limit:
            current = part
        else:
            smaller = split_text(part, limit)
            pieces.extend(smaller[:-1])
            current = smaller[-1]
    if current.strip():
        pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]


class CallbackCodec:
    """Button payloads to callback data (≤ 64 bytes) and back.

    A payload that does not fit is replaced by a short hash, remembered here; content
    payloads are registered at start, so their hashes survive a restart. An unknown
    hash (an old button from before a restart) decodes to a payload the engine treats
    as stale, which answers with the menu.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._long: OrderedDict[str, str] = OrderedDict()

    def register(self, payloads: Iterable[str]) -> None:
        for payload in payloads:
            self.encode(payload)

    def encode(self, payload: str, keep: bool = False) -> str:
        prefix = KEEP if keep else ""
        if payload and not payload.startswith((KEEP, HASHED)):
            data = prefix + payload
            if len(data.encode()) <= DATA_LIMIT:
                return data
        digest = base64.urlsafe_b64encode(hashlib.blake2b(payload.encode(), digest_size=15).digest()).decode()
        self._long[digest] = payload
        self._long.move_to_end(digest)
        if len(self._long) > self.max_entries:
            self._long.popitem(last=False)
        return f"{prefix}{HASHED}{digest}"

    def decode(self, data: str) -> tuple[str, bool]:
        """The payload, and whether the tapped message must be kept (not edited)."""
        keep = data.startswith(KEEP)
        data = data.removeprefix(KEEP)
        if data.startswith(HASHED):
            return self._long.get(data[len(HASHED):], "stale:" + data), keep
        return data, keep


#: One codec per process, so a long payload hashed for a reminder decodes when tapped.
CODEC = CallbackCodec()


def keyboard(reply: Reply, codec: CallbackCodec) -> Keyboard | None:
    """One button per row: labels are up to 20 characters, and a phone shows them whole."""
    if not reply.buttons:
        return None
    keep = reply.kind == "alert"
    rows = [[{"text": b.label, "callback_data": codec.encode(b.payload, keep or b.keep)}]
            for b in reply.buttons]
    return {"inline_keyboard": rows}


def merge(replies: list[Reply]) -> list[Reply]:
    """Fold a reply without buttons (the welcome notice) into the next one: fewer messages.

    An alert always stands alone, so it is the first thing the user sees.
    """
    merged: list[Reply] = []
    for reply in replies:
        previous = merged[-1] if merged else None
        if (
            previous is not None and not previous.buttons and "alert" not in (previous.kind, reply.kind)
            and not previous.files and len(previous.text) + len(reply.text) < LIMIT // 2
        ):
            text = f"{previous.text.strip()}\n\n{reply.text}"
            merged[-1] = Reply(reply.kind, text, reply.buttons, reply.topic, reply.files)
        else:
            merged.append(reply)
    return merged


def render(replies: list[Reply], codec: CallbackCodec) -> list[Rendered]:
    """The messages to send for one turn, in order."""
    messages: list[Rendered] = []
    for reply in merge(replies):
        # Files first, so the buttons end the turn.
        messages.extend(Rendered("", "", file=f) for f in reply.files)
        pieces = split_text(reply.text)
        for index, piece in enumerate(pieces):
            markup = keyboard(reply, codec) if index == len(pieces) - 1 else None
            messages.append(Rendered(to_html(piece), piece, markup))
    return messages
