"""Sending to Telegram within its limits, for replies and reminders alike.

Every message goes through the `Outbox`: in its chat's pace and its lane's turn (limits), with
an outcome. A user who blocked the bot is marked, so nothing more is sent until they write again.

At most once: a new message is sent again only when the error proves Telegram never got
it (no connection could be made or none was free: refused, DNS, connect or pool timeout),
once. A timeout after the request left, a reset connection, a 5xx (the Bot API documents
no 5xx as "nothing created") or a 2xx we cannot read means the message may have arrived:
the outcome is UNKNOWN and it is not sent again. An edit is idempotent (the same text
twice shows once), so edits keep their retries on any network error. Every attempt takes
its own turn from the lanes, since Telegram counts each one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiohttp
import httpx
from telegram import InputFile, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from messenger_bot.channels.telegram.answer import free_slot, send_message_answer
from messenger_bot.channels.telegram.bots import call
from messenger_bot.channels.telegram.calls import edit_message, message_id_of, send_message
from messenger_bot.channels.telegram.limits import Limits
from messenger_bot.channels.telegram.render import Rendered
from messenger_bot.conversation import Attachment
from messenger_bot.delivery import Outcome, SendResult, partly
from messenger_bot.lanes import Lane
from messenger_bot.storage import BLOCKED, Storage

log = logging.getLogger("messenger_bot.telegram")

#: Attempts for a new message whose request provably never reached Telegram: one safe retry.
SEND_TRIES = 2
#: Attempts for an edit (idempotent) that meets network errors, 5xx answers or timeouts.
EDIT_TRIES = 4


async def _nothing() -> None:
    return None


def _never(error: BaseException) -> bool:
    return False


def _transient(error: BaseException) -> bool:
    """Network errors, timeouts and 5xx are worth another try of an idempotent call; a bad request is not."""
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


def not_sent(error: BaseException) -> bool:
    """True when the request provably never reached Telegram, so sending it again cannot double it.

    The request class (AiohttpRequest, or PTB's HTTPXRequest) wraps its client's error as the cause
    of its NetworkError/TimedOut: a failed or timed-out connect (refused, DNS, TLS) or no free pooled
    connection means nothing was written. aiohttp raises ClientConnectorError only while opening a
    connection and ConnectionTimeoutError only while waiting for one (a free pooled one, or a new
    one's connect); once the request is written its errors are others (reset, disconnected, a read
    timeout). It never retries a POST on its own.
    """
    if not isinstance(error, NetworkError) or isinstance(error, BadRequest):
        return False
    return isinstance(error.__cause__, _NOTHING_WRITTEN)


_NOTHING_WRITTEN = (
    aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError,
    httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
)


def refused(error: BaseException) -> bool:
    """Telegram answered and said no (4xx, or a 429 waited out too often): nothing was created."""
    return isinstance(error, BadRequest | Forbidden | InvalidToken | Conflict | RetryAfter | ChatMigrated)


class Outbox:
    """The one way messages leave for Telegram: paced, retried only when nothing went, with an outcome."""

    def __init__(self, bot: ExtBot[Any], limits: Limits, store: Storage, lane: Lane = Lane.REPLY) -> None:
        self.bot = bot
        self.pacer = limits.pacer
        self.lanes = limits.lanes
        #: Answers to a person's own message take the reply lane; reminders the bulk one.
        self.lane = lane
        self.store = store

    async def deliver(
        self, chat_id: int, messages: list[Rendered], edit: int | None = None, thread: int | None = None,
        urgent: bool = False,
    ) -> SendResult:
        """Send the messages in order (the first may replace message `edit`); stop at a failure.
        `thread` is the forum topic the user wrote in: new messages go there, not to the general topic.

        An `urgent` delivery (an emergency alert) whose outcome is unknown is sent once more: for an
        alert, two copies are a small harm and none a grave one. Everything else is never repeated
        after an unknown outcome (it may have arrived).

        While a webhook update is handled with TELEGRAM_WEBHOOK_ANSWER on, a single new text message
        goes back in the webhook's HTTP answer instead (see answer.py). Never an alert: its
        outcome must be known so that it can be sent again; never an edit or a file."""
        if edit is None and not urgent and len(messages) == 1 and messages[0].file is None:
            answer = free_slot()
            if answer is not None:
                # Its turns, as if sent now: Telegram sends it at once.
                await self._paced(chat_id, _nothing, _never, 1)
                answer.call = send_message_answer(chat_id, messages[0], thread)
                return SendResult(Outcome.SENT)
        result = await self._deliver(chat_id, messages, edit, thread)
        if urgent and result.outcome is Outcome.UNKNOWN:
            log.warning("telegram: an alert to chat %s may not have arrived; sending it again", chat_id)
            result = await self._deliver(chat_id, messages, None, thread)
        return result

    async def _deliver(
        self, chat_id: int, messages: list[Rendered], edit: int | None, thread: int | None
    ) -> SendResult:
        """One attempt at the whole reply, with its outcome."""
        provider_id = None
        try:
            for index, message in enumerate(messages):
                if index == 0 and edit is not None and await self._edit(chat_id, edit, message):
                    provider_id = str(edit)
                    continue
                provider_id = str(await self._send(chat_id, message, thread))
        except Exception as error:  # whatever went wrong, the outcome decides a resend
            return partly(await self._failed(chat_id, error), provider_id)
        return SendResult(Outcome.SENT, provider_id)

    async def _send(self, chat_id: int, message: Rendered, thread: int | None = None) -> int:
        """The new message's id."""
        if message.file is not None:
            upload = partial(self._send_file, chat_id, message.file, thread)
            sent: Message = await self._paced(chat_id, upload, not_sent, SEND_TRIES)
            return sent.message_id

        async def send(text: str, html: bool) -> int:
            params = send_message(chat_id, text, html, message.keyboard, thread)
            return message_id_of(await call(self.bot, "sendMessage", params))

        try:
            return await self._paced(chat_id, partial(send, message.html, True), not_sent, SEND_TRIES)
        except BadRequest as error:
            if "parse" not in str(error).lower():
                raise
            log.warning("telegram refused our HTML (%s); sending plain text", error)
            return await self._paced(chat_id, partial(send, message.plain, False), not_sent, SEND_TRIES)

    async def _send_file(self, chat_id: int, file: Attachment, thread: int | None = None) -> Message:
        """Uploaded, not linked: Telegram needs no public address. A PNG is a photo, else a document."""
        upload = InputFile(file.data, filename=file.filename)
        if file.type == "image/png":
            return await self.bot.send_photo(chat_id, upload, caption=file.label, message_thread_id=thread)
        return await self.bot.send_document(chat_id, upload, caption=file.label, message_thread_id=thread)

    async def _edit(self, chat_id: int, message_id: int, message: Rendered) -> bool:
        """True when the tapped message now shows the answer; False to send it as a new one."""
        try:
            params = edit_message(chat_id, message_id, message.html, message.keyboard)
            edit = partial(call, self.bot, "editMessageText", params)
            await self._paced(chat_id, edit, _transient, EDIT_TRIES)
        except BadRequest as error:
            return "not modified" in str(error).lower()  # the same menu tapped again: already shown
        return True

    async def _paced(
        self, chat_id: int, call: Callable[[], Awaitable[Any]], again: Callable[[BaseException], bool],
        tries: int,
    ) -> Any:
        """The call in the chat's pace, tried again (up to `tries` in all) only on errors `again` allows."""
        async with self.pacer.slot(chat_id):
            retrying = AsyncRetrying(
                retry=retry_if_exception(again), stop=stop_after_attempt(tries),
                wait=wait_exponential(multiplier=0.25, max=8), reraise=True,
            )
            async for attempt in retrying:
                with attempt:
                    await self.lanes.turn(self.lane)
                    return await call()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _failed(self, chat_id: int, error: BaseException) -> SendResult:
        """BLOCKED, FAILED (provably nothing created) or UNKNOWN (it may have arrived: never resent)."""
        name = type(error).__name__
        gone = isinstance(error, BadRequest) and "chat not found" in str(error).lower()
        if isinstance(error, Forbidden) or gone:
            await self.mark_blocked(str(chat_id))
            log.info("telegram chat %s cannot be messaged (%s); paused until they write", chat_id, name)
            return SendResult(Outcome.BLOCKED, detail=str(error))
        detail = f"{name}: {error}" if isinstance(error, TelegramError) else f"error: {name}"
        if refused(error) or not_sent(error):
            log.warning("telegram send to chat %s failed, nothing was sent: %s", chat_id, detail)
            return SendResult(Outcome.FAILED, detail=detail)
        log.warning("telegram send to chat %s: outcome unknown, not sent again: %s", chat_id, detail)
        return SendResult(Outcome.UNKNOWN, detail=f"outcome unknown: {detail}")

    async def mark_blocked(self, user_key: str) -> None:
        """Nothing more goes to this chat until they write; a STOP of theirs stays as it is."""
        await self.store.pause_user("telegram", user_key, BLOCKED)
