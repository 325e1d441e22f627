"""How many SMS segments a text costs, and texts cut into messages of at most N segments.

A segment holds 160 GSM-7 characters (153 when a message has several, for the header
that joins them), or 70 UTF-16 units when any character is outside GSM-7 (67 joined).
GSM-7's extension characters (€ [ ] { } …) take two. Twilio splits a message into its
segments itself; the bot only keeps each message within SMS_MAX_SEGMENTS, cutting a
longer answer into several messages at paragraphs (channels/shared/split.py), and never
cutting a text that must stay whole (the emergency alert).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from messenger_bot.channels.shared.split import Measure, split_message

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
GSM_SINGLE, GSM_JOINED = 160, 153
UCS2_SINGLE, UCS2_JOINED = 70, 67
SEPARATOR = "\n\n"


def is_gsm(text: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENDED for c in text)


def septets(text: str) -> int:
    """The length of a GSM-7 text: two for an extension character."""
    return sum(2 if c in GSM_EXTENDED else 1 for c in text)


def utf16_units(text: str) -> int:
    """The length of a UCS-2 text: two for a character beyond the basic plane (most emoji)."""
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    if is_gsm(text):
        size, single, joined = septets(text), GSM_SINGLE, GSM_JOINED
    else:
        size, single, joined = utf16_units(text), UCS2_SINGLE, UCS2_JOINED
    return 1 if size <= single else math.ceil(size / joined)


def budget(text: str, max_segments: int) -> tuple[int, Measure]:
    """The most a message in this text's encoding may hold in `max_segments`, and its measure."""
    if is_gsm(text):
        return (GSM_SINGLE if max_segments == 1 else GSM_JOINED * max_segments), septets
    return (UCS2_SINGLE if max_segments == 1 else UCS2_JOINED * max_segments), utf16_units


def pack(texts: Sequence[tuple[str, bool]], max_segments: int) -> list[str]:
    """Messages of at most `max_segments` each, in order, as few as the texts allow. Each text is
    (text, whole): a whole one is never cut, even when it is longer than the budget; the others
    are cut at paragraphs, lines, sentences, words."""
    messages: list[str] = []
    for text, whole in texts:
        limit, measure = budget(text, max_segments)
        pieces = [text.strip()] if whole else split_message(text, limit, measure)
        if not pieces or not pieces[0]:
            continue
        first, rest = pieces[0], pieces[1:]  # the splitter already filled each piece but the last
        if messages and segments(messages[-1] + SEPARATOR + first) <= max_segments:
            messages[-1] += SEPARATOR + first
        else:
            messages.append(first)
        messages.extend(rest)
    return messages
