"""Buttons as numbered text, for channels that cannot show buttons (WhatsApp without templates, SMS).

Like a bot framework's base output channel: the menu becomes "1. Label" lines and a hint
how to answer, and a bare number typed back picks that option (the engine keeps the last
menu; the channel says so by setting `Incoming.numbered`). The hint's words are content
(flows/channels.yaml), so this module holds none.
"""

from __future__ import annotations

from collections.abc import Sequence

from messenger_bot.content import Button
from messenger_bot.conversation import Reply


def numbered(buttons: Sequence[Button], hint: str) -> str:
    """The options, one a line, then the hint after a blank line."""
    lines = [f"{i}. {b.label}" for i, b in enumerate(buttons, 1)]
    return "\n".join([*lines, "", hint.strip()]) if hint.strip() else "\n".join(lines)


def menu_index(replies: Sequence[Reply]) -> int:
    """The reply whose buttons a typed number picks: the last one with buttons (-1 when none),
    as the engine remembers it."""
    return max((i for i, r in enumerate(replies) if r.buttons), default=-1)

