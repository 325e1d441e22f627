"""The commonest update, read without python-telegram-bot: a person's plain text in a private chat.

By webhook most updates are exactly that: `{"update_id", "message": {"message_id", "date",
"chat", "from", "text"}}`. PTB would build an `Update`, a `Message`, a `Chat` and a `User` from
it (hundreds of attribute writes) and try eight handlers, only for `Handlers.text` to read the
text, the chat id and the app's language. So such an update is read here from its JSON, and
anything else (another key in the message, such as entities, a reply, a topic or a caption; a
command; a group; a bot; an edit; a tap) still goes through PTB, whose objects then decide.
The checks are PTB's own (its required fields) and `reading.ids_are_integers`'s, so an update
is either read the same way on both paths or refused (400) on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.constants import ChatType

from messenger_bot.channels.telegram.reading import ID_LIMIT

#: A message with no other key than these is plain text (entities, captions, replies, topics,
#: forwards, media and everything a later Bot API adds all take PTB's way).
PLAIN_KEYS = frozenset({"message_id", "date", "chat", "from", "text"})


@dataclass(frozen=True)
class PlainText:
    update_id: int
    chat_id: int
    text: str
    #: The user's app language (`from.language_code`), a hint for the engine.
    language: str | None


def plain_text(data: dict[str, Any]) -> PlainText | None:
    """The plain text of a private chat's new message from a person, else None (PTB reads it)."""
    message = data.get("message")
    if len(data) != 2 or not isinstance(message, dict) or not PLAIN_KEYS.issuperset(message):
        return None
    chat, user, text = message.get("chat"), message.get("from"), message.get("text")
    if not isinstance(chat, dict) or not isinstance(user, dict) or type(text) is not str or not text:
        return None
    if chat.get("type") != ChatType.PRIVATE or text.startswith("/") or user.get("is_bot") is not False:
        return None
    language = user.get("language_code")
    if type(user.get("first_name")) is not str or not (language is None or type(language) is str):
        return None
    ids = (data.get("update_id"), chat.get("id"), user.get("id"), message.get("message_id"),
           message.get("date"))
    if not all(type(value) is int and -ID_LIMIT < value < ID_LIMIT for value in ids):
        return None
    return PlainText(data["update_id"], chat["id"], text, language or None)
