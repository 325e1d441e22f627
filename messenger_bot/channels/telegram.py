"""The Telegram channel on python-telegram-bot: by polling, or by webhook in our app.

PTB's `Application` and handlers turn updates into `Incoming`; the engine answers;
replies leave through the paced `Outbox` (telegram_send) that reminders use too.
With TELEGRAM_WEBHOOK_URL set there is no Updater: Telegram posts to
`POST /telegram/webhook`, which checks the secret and hands the update to the
application (PTB's custom-webhook way). Without it, PTB's Updater polls, started
inside our lifespan so uvicorn keeps the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import BotCommand, ChatMember, Message, MessageEntity, Update
from telegram.constants import ChatType, MessageLimit
from telegram.error import InvalidToken, TelegramError
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

from messenger_bot.channels.telegram_answer import webhook_answer
from messenger_bot.channels.telegram_ptb import KeepNothing, TolerantBot
from messenger_bot.channels.telegram_render import CODEC, Rendered, render
from messenger_bot.channels.telegram_request import AiohttpRequest
from messenger_bot.channels.telegram_send import POOL_SIZE, Outbox, TelegramSender, file_base_url, limits_for
from messenger_bot.conversation import Incoming
from messenger_bot.lanes import Lane
from messenger_bot.runtime import ChannelSettingsError, Runtime, database_busy
from messenger_bot.settings import Settings
from messenger_bot.storage import BLOCKED, Storage
from messenger_bot.throttle import FloodGate, Throttle

__all__ = ["TelegramChannel", "TelegramSender"]

log = logging.getLogger("messenger_bot.telegram")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: my_chat_member says at once when a user blocks or unblocks the bot (or a group removes it);
#: edited_message lets a warning sign added by an edit still raise the alert.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
#: The bot's status in a chat that means it can no longer write there, and the ones that mean it can.
GONE = frozenset({ChatMember.BANNED, ChatMember.LEFT})
BACK = frozenset({ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER})
#: How long stopping may wait on each step (the Bot API may be unreachable): shutdown never hangs.
STOP_SECONDS = 10.0
FORGET_SECONDS = 2.0
#: Updates handled at once when polling; one chat's updates still run one at a time.
CONCURRENT_UPDATES = 64
#: Per chat: a burst of 10 messages, then one a second; more get no answer (but an emergency alert).
FLOOD_BURST = 10
#: Telegram's own limit on a message's text: no longer text reaches the engine.
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH
APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment, or type /menu."
#: Shown in Telegram's command menu; the engine (or its FAQ) answers each.
COMMANDS = [
    BotCommand("start", "Start, and show the main menu"),
    BotCommand("menu", "The main menu"),
    BotCommand("help", "How to use this bot"),
    BotCommand("about", "About this bot"),
    BotCommand("back", "The previous menu"),
    BotCommand("reminders", "Water and caffeine reminders"),
    BotCommand("water", "Water reminders"),
    BotCommand("caffeine", "Caffeine: limits and reminders"),
    BotCommand("mydata", "See what I keep about you"),
    BotCommand("deletedata", "Delete what I keep about you"),
    BotCommand("stop", "Pause messages I send on my own"),
]
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
UPDATE_KEEP_SECONDS = 2 * 24 * 3600


def webhook_secret(settings: Settings) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from the token: stable across restarts and
    instances (they all agree without sharing anything), and unknowable without the token."""
    if settings.telegram_webhook_secret is not None:
        secret = settings.telegram_webhook_secret.get_secret_value()
        if not _SECRET.match(secret):
            raise ValueError("TELEGRAM_WEBHOOK_SECRET: use 1-256 characters from A-Z, a-z, 0-9, _ and -")
        return secret
    assert settings.telegram_bot_token is not None
    token = settings.telegram_bot_token.get_secret_value().encode()
    digest = hmac.new(token, b"messenger-bot telegram webhook secret", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class UpdateLog:
    """Update ids seen, under a unique key: a redelivered update is answered once."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self._inserts = 0

    async def first_time(self, update_id: int) -> bool:
        count = await self.store.execute(
            "INSERT INTO telegram_updates (update_id, received_at) VALUES (?, ?) "
            "ON CONFLICT (update_id) DO NOTHING", update_id, time.time(),
        )
        self._inserts += 1
        if self._inserts % 1000 == 0:
            await self.prune()
        return count > 0

    async def forget(self, update_id: int) -> None:
        await self.store.execute("DELETE FROM telegram_updates WHERE update_id = ?", update_id)

    async def prune(self) -> None:
        cutoff = time.time() - UPDATE_KEEP_SECONDS
        await self.store.execute("DELETE FROM telegram_updates WHERE received_at < ?", cutoff)


class ChatLocks:
    """One turn at a time per chat (state is loaded and saved per turn); a lock lives only while used."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(chat_id, (asyncio.Lock(), 0))
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users == 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)


class TelegramChannel:
    name = "telegram"
    body_limits: ClassVar[dict[str, int]] = {WEBHOOK_PATH: 256 * 1024}

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.by_webhook = settings.telegram_webhook_url is not None
        self.secret = webhook_secret(settings)
        self.gate = FloodGate(Throttle(FLOOD_BURST, FLOOD_BURST))
        self.locks = ChatLocks()
        self.app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._runtime: Runtime | None = None
        self._outbox: Outbox | None = None
        self._updates: UpdateLog | None = None
        #: Webhook updates that failed because the database is down: answered 503, so Telegram retries.
        self._retry: set[int] = set()

    def routes(self) -> list[BaseRoute]:
        return [Route(WEBHOOK_PATH, self.webhook, methods=["POST"])]

    # -- lifecycle ---------------------------------------------------------------

    async def start(self, runtime: Runtime) -> None:
        """Raises when the Bot API cannot be reached (the app retries later) or refuses the token;
        a failed start leaves nothing running behind."""
        self._runtime = runtime
        self._updates = UpdateLog(runtime.store)
        await self._updates.prune()
        CODEC.register(b.payload for buttons in runtime.content.buttons.values() for b in buttons)
        app = self._build()
        try:
            await self._launch(app)
        except BaseException:
            await self._halt(app)
            raise
        self.app = app
        log.info("telegram: @%s by %s", app.bot.username, "webhook" if self.by_webhook else "polling")

    async def _launch(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        try:
            await app.initialize()
        except InvalidToken:
            raise ChannelSettingsError("TELEGRAM_BOT_TOKEN was refused by the Bot API server") from None
        assert self._runtime is not None
        self._outbox = Outbox(app.bot, limits_for(self.settings), self._runtime.store, Lane.REPLY)
        await app.bot.set_my_commands(COMMANDS)
        if self.by_webhook:
            url = str(self.settings.telegram_webhook_url)
            await app.bot.set_webhook(url=url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES)
        await app.start()
        if app.updater is not None:
            await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, error_callback=self._poll_error)

    def _build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        settings = self.settings
        assert settings.telegram_bot_token is not None
        bot = TolerantBot(
            settings.telegram_bot_token.get_secret_value(),
            base_url=settings.telegram_base_url,
            base_file_url=file_base_url(settings.telegram_base_url),
            rate_limiter=limits_for(settings).rate_limiter,
            request=AiohttpRequest(POOL_SIZE),
            get_updates_request=AiohttpRequest(1),  # polling's one long call at a time
        )
        memory = KeepNothing()
        builder = Application.builder().bot(bot).concurrent_updates(CONCURRENT_UPDATES).persistence(memory)
        if self.by_webhook:
            builder = builder.updater(None)
        app = builder.build()
        memory.forget_chat, memory.forget_user = app.drop_chat_data, app.drop_user_data
        new = filters.UpdateType.MESSAGE  # an edit is not a new question (see _on_edit)
        app.add_handler(TypeHandler(Update, self._once), group=-1)
        app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, self._on_edit))
        app.add_handler(CommandHandler([c.command for c in COMMANDS], self._on_command, filters=new))
        app.add_handler(MessageHandler(new & filters.COMMAND, self._on_other_command))
        app.add_handler(MessageHandler(new & filters.TEXT, self._on_text))
        app.add_handler(MessageHandler(new, self._on_non_text))
        app.add_handler(ChatMemberHandler(self._on_member, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_handler(CallbackQueryHandler(self._on_tap))
        app.add_error_handler(self._on_error)
        return app

    async def stop(self) -> None:
        app, self.app = self.app, None
        if app is not None:
            await self._halt(app)

    @staticmethod
    async def _halt(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Stop polling, the application and its connections; each step bounded, none skipped."""
        steps = []
        if app.updater is not None and app.updater.running:
            steps.append(app.updater.stop)
        if app.running:
            steps.append(app.stop)
        steps += [app.shutdown, app.bot.shutdown]  # the bot's own connections, if initialize half-failed
        for step in steps:
            try:
                async with asyncio.timeout(STOP_SECONDS):
                    await step()
            except Exception as error:  # a step that fails or hangs must not keep the others from running
                log.warning("telegram: stopping, %s did not finish: %s", step.__name__, type(error).__name__)

    # -- the webhook ---------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        """403 without the right secret, before anything is read or stored; 400 for a non-update."""
        if not self.by_webhook:
            return JSONResponse({"error": "the Telegram webhook is not enabled here"}, status_code=404)
        if self.app is None:  # not started yet (the Bot API was unreachable): Telegram delivers it later
            return JSONResponse({"error": "the Telegram channel is starting"}, status_code=503,
                                headers={"retry-after": "5"})
        given = request.headers.get(SECRET_HEADER, "")
        if not secrets.compare_digest(given.encode(), self.secret.encode()):
            log.warning("telegram webhook: refused a request without the right secret token")
            return JSONResponse({"error": "forbidden"}, status_code=403)
        try:
            data = json.loads(await request.body())
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("no update_id")
            update = Update.de_json(data, self.app.bot)
            if not _ids_are_integers(update):
                raise ValueError("an id is not an integer")
        except Exception:  # any malformed body is the sender's problem, never a 500
            return JSONResponse({"error": "the body is not a Telegram update"}, status_code=400)
        # Answered before returning, so Telegram's connection limit paces us; a redelivery
        # after a timeout is caught by the update log.
        with webhook_answer() if self.settings.telegram_webhook_answer else nullcontext() as answer:
            await self.app.process_update(update)
        if update.update_id in self._retry:  # the database is down: Telegram delivers it again later
            self._retry.discard(update.update_id)
            await self._forget(update.update_id)
            return JSONResponse({"error": "temporarily unavailable"}, status_code=503,
                                headers={"retry-after": "5"})
        return JSONResponse(answer.call) if answer is not None and answer.call else Response(status_code=200)

    async def _forget(self, update_id: int) -> None:
        """Best effort: the redelivery must not look like a duplicate (the database may still refuse)."""
        assert self._updates is not None
        try:
            async with asyncio.timeout(FORGET_SECONDS):
                await self._updates.forget(update_id)
        except Exception as error:
            log.warning("telegram: could not unmark update %s for its redelivery: %s", update_id,
                        type(error).__name__)

    def _poll_error(self, error: TelegramError) -> None:
        log.warning("telegram polling: %s", self._redact(f"{type(error).__name__}: {error}"))

    # -- handlers --------------------------------------------------------------------

    async def _once(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert self._updates is not None
        if not await self._updates.first_time(update.update_id):
            log.info("telegram: update %s was delivered again; already answered", update.update_id)
            raise ApplicationHandlerStop

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.text is not None
        name = message.text.split()[0][1:].partition("@")[0].lower()
        # /start's argument is a deep-link code, not words; other commands keep theirs (triage reads them).
        text = f"/{name}" if name == "start" or not context.args else f"/{name} {' '.join(context.args)}"
        await self._turn(message.chat_id, thread=_thread(message), text=text)

    async def _on_other_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command the bot does not list: the engine reads it as text (unless it is for another bot)."""
        message = update.effective_message
        assert message is not None and message.text is not None
        first, _, rest = message.text.partition(" ")
        command, _, target = first.partition("@")
        if target and target.lower() != (context.bot.username or "").lower():
            return
        await self._turn(message.chat_id, thread=_thread(message), text=f"{command} {rest}".strip())

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.text is not None
        text = self._words_for_us(message, context)
        if text is not None:
            await self._turn(message.chat_id, thread=_thread(message), text=text)

    async def _on_non_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo, sticker or voice note: in private the engine asks for text (or reads the caption);
        in a group only when it is addressed to the bot (a caption that mentions it, a reply to it)."""
        message = update.effective_message
        if message is None:
            return
        caption = self._words_for_us(message, context)
        if caption is not None or message.chat.type == ChatType.PRIVATE:
            await self._turn(message.chat_id, thread=_thread(message), text=caption, non_text=True)

    async def _on_edit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An edited message is not answered again (the first answer stands), except that a warning
        sign the edit adds still raises the alert, alone: an emergency is never left unanswered."""
        message = update.edited_message
        assert message is not None and self._runtime is not None and self._outbox is not None
        text = self._words_for_us(message, context)
        engine = self._runtime.engine
        if not text or engine.triage.check(text) is None:
            return
        async with self.locks.hold(message.chat_id):
            alert = engine.alert_reply(None)  # Telegram does not tell us the country: the general line
            await self._outbox.deliver(
                message.chat_id, render([alert], CODEC), thread=_thread(message), urgent=True
            )

    async def _on_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The user blocked or unblocked the bot (or a group removed or re-added it): reminders pause
        or resume at once. A pause the user asked for (STOP) is theirs and is never changed here."""
        change = update.my_chat_member
        assert change is not None and self._runtime is not None
        status = change.new_chat_member.status
        if status not in GONE | BACK:
            return
        store, chat_id = self._runtime.store, change.chat.id
        async with self.locks.hold(chat_id):  # a user the bot never met has no row: nothing is stored
            if status in GONE:
                changed = await store.pause_user("telegram", str(chat_id), BLOCKED)
            else:
                changed = await store.resume_user("telegram", str(chat_id), BLOCKED)
        if not changed:
            return
        log.info("telegram chat %s: %s", chat_id, "paused: blocked or left" if status in GONE else "resumed")

    async def _on_tap(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
        thread = _thread(tapped) if tapped is not None else None
        await self._turn(chat_id, edit=edit, thread=thread, button=payload)

    def _words_for_us(self, message: Message, context: ContextTypes.DEFAULT_TYPE) -> str | None:
        """What the bot should read: the whole text in private; in a group only a message addressed
        to it (mention removed). Other bots are ignored; an anonymous admin, who writes as the group
        (`sender_chat`, with Telegram's placeholder bot as `from`), is a person like any other."""
        human = message.sender_chat is not None and not message.is_automatic_forward
        if message.from_user is not None and message.from_user.is_bot and not human:
            return None
        if message.chat.type == ChatType.PRIVATE:
            return message.text if message.text is not None else message.caption
        return self._addressed(message, context)

    @staticmethod
    def _addressed(message: Message, context: ContextTypes.DEFAULT_TYPE) -> str | None:
        """In a group: the text (or a photo's caption) if the bot was replied to or mentioned
        (mention removed), else None."""
        bot = context.bot
        captioned = message.text is None
        text = (message.caption if captioned else message.text) or ""
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
            return text
        handle = f"@{bot.username}".lower()
        kinds = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
        mentions = message.parse_caption_entities(kinds) if captioned else message.parse_entities(kinds)
        for entity, value in mentions.items():
            if value.lower() == handle or (entity.user is not None and entity.user.id == bot.id):
                return (text[: entity.offset] + text[entity.offset + entity.length:]).strip() or "/menu"
        return None

    # -- one turn ---------------------------------------------------------------------

    async def _turn(
        self, chat_id: int, edit: int | None = None, thread: int | None = None, **fields: Any
    ) -> None:
        """Engine, then the reply: a tap's single answer replaces the tapped message, else follows it
        (in the forum topic it came from)."""
        assert self._runtime is not None and self._outbox is not None
        if isinstance(fields.get("text"), str):
            fields["text"] = fields["text"][:TEXT_LIMIT]
        incoming = Incoming("telegram", str(chat_id), **fields)
        if not await self._admitted(chat_id, incoming):
            return
        async with self.locks.hold(chat_id):
            replies = await self._runtime.engine.turn(incoming)
            messages = render(replies, CODEC)
            if len(messages) != 1 or replies[0].kind == "alert":
                edit = None
            urgent = any(r.kind == "alert" for r in replies)
            await self._outbox.deliver(chat_id, messages, edit=edit, thread=thread, urgent=urgent)

    async def _admitted(self, chat_id: int, incoming: Incoming) -> bool:
        """False for a chat over its flood limit, which still gets the alert for a warning sign."""
        assert self._runtime is not None and self._outbox is not None
        admission = await self.gate.admit(self._runtime.engine, incoming, str(chat_id))
        if admission.admitted:
            return True
        log.info("telegram: chat %s is sending too fast; %s", chat_id,
                 "only the emergency alert sent" if admission.alert else "message dropped")
        if admission.alert:
            await self._outbox.deliver(chat_id, render(admission.alert, CODEC), urgent=True)
        return False

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log what failed (never the token or the user's words), and apologise to the user."""
        error = context.error
        update_id = update.update_id if isinstance(update, Update) else None
        what = self._redact(f"{type(error).__name__}: {error}")
        log.error("telegram: update %s failed: %s", update_id, what)
        log.debug("telegram: failure details", exc_info=error)
        if self.by_webhook and isinstance(update, Update) and await self._database_down(error):
            self._retry.add(update.update_id)  # no apology: the webhook answers 503 and Telegram retries
            raise ApplicationHandlerStop
        chat = update.effective_chat if isinstance(update, Update) else None
        message = update.effective_message if isinstance(update, Update) else None
        if chat is not None and self._outbox is not None:
            thread = _thread(message) if message is not None else None
            try:
                await self._outbox.deliver(chat.id, [Rendered(APOLOGY, APOLOGY)], thread=thread)
            except Exception as failure:  # an error handler that raises makes the webhook a 500
                log.error("telegram: no apology for update %s: %s", update_id, type(failure).__name__)
        raise ApplicationHandlerStop  # one apology per update: later handler groups must not run too

    async def _database_down(self, error: BaseException | None) -> bool:
        """Unreachable, or locked by another writer for longer than the store waits."""
        if isinstance(error, TelegramError) or self._runtime is None:
            return False
        return database_busy(error) or not await self._runtime.store.ping()

    def _redact(self, text: str) -> str:
        token = self.settings.telegram_bot_token
        return text.replace(token.get_secret_value(), "<token>") if token is not None else text


def _thread(message: Message) -> int | None:
    """The forum topic a message belongs to, so the answer lands there (as PTB's own reply does)."""
    return message.message_thread_id if message.is_topic_message else None


#: Telegram's ids fit in 52 bits; the database keeps integers of up to 63.
_ID_LIMIT = 2**63


def _ids_are_integers(update: Update) -> bool:
    """The ids a turn relies on (update, chat, user, message) are integers a database can hold;
    an update with lists or numbers of hundreds of digits there is not one Telegram sent."""
    found = [update.update_id]
    for part, name in ((update.effective_chat, "id"), (update.effective_user, "id"),
                       (update.effective_message, "message_id")):
        if part is not None:
            found.append(getattr(part, name))
    return all(type(value) is int and -_ID_LIMIT < value < _ID_LIMIT for value in found)
