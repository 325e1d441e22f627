"""Replies as text messages: plain text, numbered menus, files as links, within the segments.

A phone shows an SMS as it is, so WhatsApp's *bold* and _italic_ lose their marks, and
the typographic quotes, dashes and bullets of the content become their GSM-7 twins: one
curly apostrophe would otherwise make the whole message UCS-2, at 70 characters a
segment instead of 160. The emergency alert goes whole and first; everything else is
joined into as few messages as SMS_MAX_SEGMENTS allows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urljoin

from messenger_bot.channels.shared.numbered import menu_index, numbered
from messenger_bot.channels.sms.segments import pack
from messenger_bot.conversation import Reply

_BOLD = re.compile(r"\*(\S(?:[^*\n]*\S)?)\*")
_ITALIC = re.compile(r"(?<!\w)_(\S(?:[^_\n]*\S)?)_(?!\w)")
_GSM_TWINS = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
    "\u2011": "-", "\u2022": "-", "\u00a0": " ", "\u202f": " ", "\u2026": "...",
})


def plain(text: str) -> str:
    """Text as an SMS shows it: no formatting marks, GSM-7 punctuation where it has a twin."""
    return _ITALIC.sub(r"\1", _BOLD.sub(r"\1", text)).translate(_GSM_TWINS)


def render(replies: Sequence[Reply], hint: str, max_segments: int, base_url: str | None = None) -> list[str]:
    """The messages for one turn: the alert whole, then the rest, the last menu numbered below
    its text with `hint`, and a file as its label and link (a text message carries none)."""
    menu_at = menu_index(replies)
    texts: list[tuple[str, bool]] = []
    for i, reply in enumerate(replies):
        text = reply.text.strip()
        links = [f"{f.label}: {_absolute(f.url, base_url)}" for f in reply.files]
        if links:
            text = "\n".join([text, *links]).strip()
        if i == menu_at:
            text = f"{text}\n\n{numbered(reply.buttons, hint)}".strip()
        if text:
            texts.append((plain(text), reply.kind == "alert"))
    return pack(texts, max_segments)


def _absolute(url: str, base_url: str | None) -> str:
    if "://" in url or not base_url:
        return url
    return urljoin(base_url.rstrip("/") + "/", url.lstrip("/"))
