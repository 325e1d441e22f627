"""python-telegram-bot's handlers, each named for the update it answers (as in PTB's
customwebhookbot example): what to read is in `reading`, the turn itself in `turn`.

Every update passes `once` first (group -1): a redelivered update stops there. Messages,
commands, taps and captions carry the user's app language to the engine as a hint. By webhook,
a private chat's plain text (plain.py) skips PTB and comes to `plain_text`, which does what
`once` and `text` do for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import ChatMember, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from messenger_bot.channels.telegram.plain import PlainText
from messenger_bot.channels.telegram.reading import language_of, thread_of, words_for_us
from messenger_bot.channels.telegram.render import CODEC
from messenger_bot.channels.telegram.turn import Turns
from messenger_bot.channels.telegram.updates import UpdateLog
from messenger_bot.storage import BLOCKED

log = logging.getLogger("messenger_bot.telegram")

#: The bot's status in a chat that means it can no longer write there, and the ones that mean it can.
GONE = frozenset({ChatMember.BANNED, ChatMember.LEFT})
BACK = frozenset({ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER})

Context = ContextTypes.DEFAULT_TYPE
ErrorHandler = Callable[[object, Context], Coroutine[Any, Any, None]]


class Handlers:
    def __init__(self, turns: Turns, updates: UpdateLog) -> None:
        self.turns = turns
        self.updates = updates

    def register(self, app: Application[Any, Any, Any, Any, Any, Any], commands: list[str],
                 on_error: ErrorHandler) -> None:
        """`commands`: the ones the command menu lists; any other is read as text."""
        new = filters.UpdateType.MESSAGE  # an edit is not a new question (see `edit`)
        app.add_handler(TypeHandler(Update, self.once), group=-1)
        app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, self.edit))
        app.add_handler(CommandHandler(commands, self.command, filters=new))
        app.add_handler(MessageHandler(new & filters.COMMAND, self.other_command))
        app.add_handler(MessageHandler(new & filters.TEXT, self.text))
        app.add_handler(MessageHandler(new, self.non_text))
        app.add_handler(ChatMemberHandler(self.member, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_handler(CallbackQueryHandler(self.tap))
        app.add_error_handler(on_error)

    async def once(self, update: Update, context: Context) -> None:
        if not await self._first_time(update.update_id):
            raise ApplicationHandlerStop

    async def plain_text(self, plain: PlainText) -> None:
        """`once`, then `text`, for a person's plain text in a private chat (no topic there)."""
        if await self._first_time(plain.update_id):
            await self.turns.take(plain.chat_id, text=plain.text, language=plain.language)

    async def _first_time(self, update_id: int) -> bool:
        if await self.updates.first_time(update_id):
            return True
        log.info("telegram: update %s was delivered again; already answered", update_id)
        return False

    async def command(self, update: Update, context: Context) -> None:
        message = _message(update)
        name = message.text.split()[0][1:].partition("@")[0].lower() if message.text else ""
        # /start's argument is a deep-link code, not words; other commands keep theirs (triage reads them).
        text = f"/{name}" if name == "start" or not context.args else f"/{name} {' '.join(context.args)}"
        await self._turn(update, message, text=text)

    async def other_command(self, update: Update, context: Context) -> None:
        """A command the bot does not list: the engine reads it as text (unless it is for another bot)."""
        message = _message(update)
        first, _, rest = (message.text or "").partition(" ")
        command, _, target = first.partition("@")
        if target and target.lower() != (context.bot.username or "").lower():
            return
        await self._turn(update, message, text=f"{command} {rest}".strip())

    async def text(self, update: Update, context: Context) -> None:
        message = _message(update)
        words = words_for_us(message, context.bot)
        if words is not None:
            await self._turn(update, message, text=words)

    async def non_text(self, update: Update, context: Context) -> None:
        """A photo, sticker or voice note: in private the engine asks for text (or reads the caption);
        in a group only when it is addressed to the bot (a caption that mentions it, a reply to it)."""
        message = update.effective_message
        if message is None:
            return
        caption = words_for_us(message, context.bot)
        if caption is not None or message.chat.type == ChatType.PRIVATE:
            await self._turn(update, message, text=caption, non_text=True)

    async def edit(self, update: Update, context: Context) -> None:
        """An edited message is not answered again (the first answer stands), except that a warning
        sign the edit adds still raises the alert, alone: an emergency is never left unanswered."""
        message = update.edited_message
        assert message is not None
        words = words_for_us(message, context.bot)
        if words:
            await self.turns.alert_only(message.chat_id, thread_of(message), text=words,
                                        language=language_of(update))

    async def member(self, update: Update, context: Context) -> None:
        """The user blocked or unblocked the bot (or a group removed or re-added it): reminders pause
        or resume at once. A pause the user asked for (STOP) is theirs and is never changed here."""
        change = update.my_chat_member
        assert change is not None
        status = change.new_chat_member.status
        if status not in GONE | BACK:
            return
        store, chat_id = self.turns.runtime.store, change.chat.id
        async with self.turns.locks.hold(chat_id):  # a user the bot never met has no row: nothing is stored
            if status in GONE:
                changed = await store.pause_user("telegram", str(chat_id), BLOCKED)
            else:
                changed = await store.resume_user("telegram", str(chat_id), BLOCKED)
        if changed:
            what = "paused: blocked or left" if status in GONE else "resumed"
            log.info("telegram chat %s: %s", chat_id, what)

    async def tap(self, update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        try:
            await query.answer()  # first, always: the spinner on the button stops
        except TelegramError as error:
            log.info("telegram: could not acknowledge a tap: %s", type(error).__name__)
        payload, keep = CODEC.decode(query.data or "")
        tapped = query.message if isinstance(query.message, Message) else None
        chat_id = tapped.chat.id if tapped is not None else query.from_user.id
        edit = tapped.message_id if tapped is not None and not keep else None
        thread = thread_of(tapped) if tapped is not None else None
        await self.turns.take(chat_id, edit=edit, thread=thread, button=payload, language=language_of(update))

    async def _turn(self, update: Update, message: Message, **fields: Any) -> None:
        thread = thread_of(message)
        await self.turns.take(message.chat_id, thread=thread, language=language_of(update), **fields)


def _message(update: Update) -> Message:
    message = update.effective_message
    assert message is not None
    return message
