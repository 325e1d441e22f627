"""What the bot reads from a Telegram update: the words meant for it, where to answer, and the
user's language as their app reports it."""

from __future__ import annotations

from telegram import Bot, Message, MessageEntity, Update
from telegram.constants import ChatType, MessageLimit

#: Telegram's own limit on a message's text: no longer text reaches the engine.
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH
#: Telegram's ids fit in 52 bits; the database keeps integers of up to 63.
ID_LIMIT = 2**63


def words_for_us(message: Message, bot: Bot) -> str | None:
    """What the bot should read: the whole text in private; in a group only a message addressed
    to it (mention removed). Other bots are ignored; an anonymous admin, who writes as the group
    (`sender_chat`, with Telegram's placeholder bot as `from`), is a person like any other."""
    human = message.sender_chat is not None and not message.is_automatic_forward
    if message.from_user is not None and message.from_user.is_bot and not human:
        return None
    if message.chat.type == ChatType.PRIVATE:
        return message.text if message.text is not None else message.caption
    return addressed(message, bot)


def addressed(message: Message, bot: Bot) -> str | None:
    """In a group: the text (or a photo's caption) if the bot was replied to or mentioned
    (mention removed), else None."""
    captioned = message.text is None
    text = (message.caption if captioned else message.text) or ""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
        return text
    handle = f"@{bot.username}".lower()
    kinds: list[str | None] = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
    mentions = message.parse_caption_entities(kinds) if captioned else message.parse_entities(kinds)
    for entity, value in mentions.items():
        if value.lower() == handle or (entity.user is not None and entity.user.id == bot.id):
            return (text[: entity.offset] + text[entity.offset + entity.length:]).strip() or "/menu"
    return None


def thread_of(message: Message) -> int | None:
    """The forum topic a message belongs to, so the answer lands there (as PTB's own reply does)."""
    return message.message_thread_id if message.is_topic_message else None


def language_of(update: Update) -> str | None:
    """The language of the user's Telegram app (`language_code`, an IETF tag such as "es" or
    "pt-br"): a hint the engine weighs below the user's own choice. None when Telegram sends none."""
    user = update.effective_user
    return user.language_code or None if user is not None else None


def ids_are_integers(update: Update) -> bool:
    """The ids a turn relies on (update, chat, user, message) are integers a database can hold;
    an update with lists or numbers of hundreds of digits there is not one Telegram sent."""
    found = [update.update_id]
    for part, name in ((update.effective_chat, "id"), (update.effective_user, "id"),
                       (update.effective_message, "message_id")):
        if part is not None:
            found.append(getattr(part, name))
    return all(type(value) is int and -ID_LIMIT < value < ID_LIMIT for value in found)
