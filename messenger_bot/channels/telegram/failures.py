"""What an update whose handling failed leaves behind: a log line, its id forgotten, and either
Telegram's redelivery or an apology.

Every failure forgets the update id (`UpdateLog.forget`), so a redelivery is answered rather than
dropped as a duplicate. By webhook, the request is then answered with a 5xx, which makes Telegram
deliver the update again: 503 while the database is down or locked (however often), 500 the first
time a turn fails otherwise. A turn that fails again on its redelivery is not sent back once more
(the same bug would fail it each time): the user gets the apology from flows/telegram.yaml, in
their language where it can be known (the one remembered for them, else their app's), and
the request a 200 (each instance remembers its own failures, so behind a load balancer a redelivery
that lands elsewhere may be sent back once more there). By polling, Telegram never delivers an
update twice: the apology at once.

A send that fails is not a failed turn: the Outbox settles it (sent, failed, blocked or unknown)
and a redelivery could only double a message that may have arrived.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from messenger_bot.channels.telegram.commands import texts_of
from messenger_bot.channels.telegram.outbox import Outbox
from messenger_bot.channels.telegram.reading import language_of, thread_of
from messenger_bot.channels.telegram.render import Rendered, to_html
from messenger_bot.channels.telegram.updates import CHANNEL, UpdateLog
from messenger_bot.runtime import Runtime, database_busy

log = logging.getLogger("messenger_bot.telegram")

#: How long forgetting an update may take (the database may be the thing that failed).
FORGET_SECONDS = 2.0
#: Update ids whose turn failed once, remembered so a failing redelivery gets the apology.
REMEMBERED = 10_000
DATABASE_DOWN = 503
TURN_FAILED = 500


class Failures:
    """PTB's error handler, and the answer the webhook owes Telegram for a failed update."""

    def __init__(self, runtime: Runtime, outbox: Outbox, updates: UpdateLog, by_webhook: bool,
                 secret_words: list[str]) -> None:
        self.runtime = runtime
        self.outbox = outbox
        self.updates = updates
        self.by_webhook = by_webhook
        self.secret_words = [w for w in secret_words if w]
        self._failed_once: OrderedDict[int, None] = OrderedDict()
        #: Updates to be answered with a 5xx (so Telegram delivers them again): id -> status.
        self._redeliver: dict[int, int] = {}

    def redelivery(self, update_id: int) -> int | None:
        """The status the webhook answers a failed update with so Telegram retries it, else None."""
        return self._redeliver.pop(update_id, None)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB's error handler: see `failed`."""
        await self.failed(update, context.error)
        raise ApplicationHandlerStop  # one answer per update: later handler groups must not run too

    async def failed(self, update: object, error: BaseException | None) -> None:
        """Log what failed (never the token or the user's words), forget the update, and ask for
        its redelivery or apologise."""
        update_id = update.update_id if isinstance(update, Update) else None
        what = self.redact(f"{type(error).__name__}: {error}")
        log.error("telegram: update %s failed: %s", update_id, what)
        log.debug("telegram: failure details", exc_info=error)
        if not isinstance(update, Update):
            return
        await self._forget(update.update_id)
        status = await self._redelivery_status(update.update_id, error) if self.by_webhook else None
        if status is not None:
            self._redeliver[update.update_id] = status  # no apology: the redelivery is the answer
        else:
            await self._apologise(update)

    async def _redelivery_status(self, update_id: int, error: BaseException | None) -> int | None:
        if await self._database_down(error):
            return DATABASE_DOWN
        if update_id in self._failed_once:
            del self._failed_once[update_id]
            return None
        self._failed_once[update_id] = None
        if len(self._failed_once) > REMEMBERED:
            self._failed_once.popitem(last=False)
        return TURN_FAILED

    async def _apologise(self, update: Update) -> None:
        chat, message = update.effective_chat, update.effective_message
        if chat is None:
            return
        apology = texts_of(self.runtime.content, await self._language(chat.id, update)).apology
        thread = thread_of(message) if message is not None else None
        try:
            await self.outbox.deliver(chat.id, [Rendered(to_html(apology), apology)], thread=thread)
        except Exception as failure:  # an error handler that raises makes the webhook a 500
            log.error("telegram: no apology for update %s: %s", update.update_id, type(failure).__name__)

    async def _language(self, chat_id: int, update: Update) -> str | None:
        """The user's language where it can be known: the one remembered for them, else their app's
        (the database may be what failed, so it is asked briefly and may not answer)."""
        try:
            async with asyncio.timeout(FORGET_SECONDS):
                user = await self.runtime.store.load_user(CHANNEL, str(chat_id))
        except Exception:
            user = None
        if user is not None and user.language:
            return user.language
        return self.runtime.engine.languages.hinted(language_of(update))

    async def _forget(self, update_id: int) -> None:
        """Best effort: the redelivery must not look like a duplicate (the database may still refuse)."""
        try:
            async with asyncio.timeout(FORGET_SECONDS):
                await self.updates.forget(update_id)
        except Exception as error:
            log.warning("telegram: could not unmark update %s for its redelivery: %s", update_id,
                        type(error).__name__)

    async def _database_down(self, error: BaseException | None) -> bool:
        """Unreachable, or locked by another writer for longer than the store waits."""
        if isinstance(error, TelegramError):
            return False
        return database_busy(error) or not await self.runtime.store.ping()

    def redact(self, text: str) -> str:
        for secret in self.secret_words:
            text = text.replace(secret, "<token>")
        return text
