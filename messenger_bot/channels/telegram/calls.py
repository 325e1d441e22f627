"""The Bot API calls a reply makes, as the plain JSON Telegram takes: sendMessage and
editMessageText, for the Outbox and for the webhook's answer alike.

Built as dicts, not PTB objects: PTB builds a keyboard object per button, turns it back into
a dict to send, and parses the answer into a `Message` (hundreds of attribute writes) when all
a reply needs back is the message id. Those objects cost more CPU than the rest of a turn's
sending; these dicts are the same JSON.
"""

from __future__ import annotations

from typing import Any

from telegram.constants import ParseMode

from messenger_bot.channels.telegram.render import Keyboard

HTML = ParseMode.HTML.value
_NO_PREVIEW = {"is_disabled": True}


def send_message(
    chat_id: int, text: str, html: bool, keyboard: Keyboard | None, thread: int | None = None
) -> dict[str, Any]:
    """sendMessage's parameters: HTML or plain text, no link preview, in the forum topic `thread`
    when the user wrote in one."""
    params: dict[str, Any] = {"chat_id": chat_id, "text": text, "link_preview_options": _NO_PREVIEW}
    if html:
        params["parse_mode"] = HTML
    if thread is not None:
        params["message_thread_id"] = thread
    if keyboard is not None:
        params["reply_markup"] = keyboard
    return params


def edit_message(chat_id: int, message_id: int, html: str, keyboard: Keyboard | None) -> dict[str, Any]:
    """editMessageText's parameters: the tapped message replaced by the answer."""
    params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": html,
                              "parse_mode": HTML, "link_preview_options": _NO_PREVIEW}
    if keyboard is not None:
        params["reply_markup"] = keyboard
    return params


def message_id_of(result: Any) -> int:
    """The id of the message a send created; an answer without one is an error (its outcome unknown)."""
    if not isinstance(result, dict) or type(result.get("message_id")) is not int:
        raise ValueError("the Bot API's answer to a send carries no message id")
    return result["message_id"]
