"""The reply to a webhook update, carried in the webhook's own HTTP answer (TELEGRAM_WEBHOOK_ANSWER).

The Bot API lets the answer to a webhook request carry one method call, which Telegram
then makes itself: no outbound request, no connection, no result to parse. But nobody
learns whether that call worked, so only a reply that needs nothing back goes this way:
exactly one new text message (an edit may fail and fall back to a new message; a second
message would arrive before the one in the answer; a file must be uploaded), and never an
emergency alert, whose outcome must be known so that it can be sent again. It still takes
its per-chat and overall turns, since Telegram counts it like any other message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from messenger_bot.channels.telegram.calls import send_message
from messenger_bot.channels.telegram.render import Rendered


@dataclass
class Answer:
    """The method call a webhook's HTTP answer carries; open only while the update is handled
    (a task started meanwhile inherits the context, and must not fill it after the answer left)."""

    call: dict[str, Any] | None = None
    open: bool = True


_SLOT: ContextVar[Answer | None] = ContextVar("telegram_webhook_answer", default=None)


@contextmanager
def webhook_answer() -> Iterator[Answer]:
    """While an update is handled: the method call its HTTP answer will carry, if any."""
    answer = Answer()
    token = _SLOT.set(answer)
    try:
        yield answer
    finally:
        answer.open = False
        _SLOT.reset(token)


def free_slot() -> Answer | None:
    """The answer to fill, when this task handles a webhook update and nothing has filled it yet."""
    answer = _SLOT.get()
    return answer if answer is not None and answer.open and answer.call is None else None


def send_message_answer(chat_id: int, message: Rendered, thread: int | None = None) -> dict[str, Any]:
    """sendMessage as a webhook answer: the same parameters the Outbox sends through the API (in
    the forum topic `thread`, when the user wrote in one)."""
    return {"method": "sendMessage", **send_message(chat_id, message.html, True, message.keyboard, thread)}
