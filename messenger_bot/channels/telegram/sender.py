"""Reminders (and anything else the bot says first) to Telegram users, through the same
limits and `Outbox` as the channel's replies, in the bulk lane."""

from __future__ import annotations

import logging
from typing import Any

from telegram.error import TelegramError
from telegram.ext import ExtBot

from messenger_bot.channels.telegram.bots import build_bot
from messenger_bot.channels.telegram.limits import limits_for
from messenger_bot.channels.telegram.outbox import Outbox
from messenger_bot.channels.telegram.render import CODEC, render
from messenger_bot.conversation import Reply
from messenger_bot.delivery import Outcome, SendResult
from messenger_bot.lanes import Lane
from messenger_bot.settings import Settings
from messenger_bot.storage import BLOCKED, Storage

log = logging.getLogger("messenger_bot.telegram")


class TelegramSender:
    """Reminders (and anything else the bot says first) to Telegram users."""

    channel = "telegram"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._bot: ExtBot[Any] | None = None
        self._outbox: Outbox | None = None

    async def start(self, store: Storage) -> None:
        limits = limits_for(self.settings)
        self._bot = build_bot(self.settings, limits)
        try:
            await self._bot.initialize()
        except TelegramError as error:  # sending needs no getMe: the reminders go when Telegram answers
            log.warning("telegram: the Bot API could not be reached at start (%s); reminders are tried "
                        "as they fall due", type(error).__name__)
        self._outbox = Outbox(self._bot, limits, store, Lane.BULK)

    async def close(self) -> None:
        if self._bot is not None:
            await self._bot.shutdown()
        self._bot = self._outbox = None

    async def send(self, user_key: str, reply: Reply, template: str | None = None) -> SendResult:
        if self._outbox is None:
            raise RuntimeError("TelegramSender.start() was not called")
        try:
            chat_id = int(user_key)
        except ValueError:
            return SendResult(Outcome.FAILED, detail="not a Telegram chat id")
        paused = await self._outbox.store.paused_reason("telegram", user_key)
        if paused == BLOCKED:
            return SendResult(Outcome.BLOCKED, detail="blocked the bot earlier; waiting until they write")
        if paused:
            return SendResult(Outcome.SKIPPED, detail=f"paused: {paused}")
        return await self._outbox.deliver(chat_id, render([reply], CODEC))
