"""The bot objects that talk to the Bot API, built one way: our aiohttp request class, the
shared rate limiter, and the file address that goes with the API address; and `call`, a Bot
API call from plain JSON parameters (calls.py), answered with the plain result."""

from __future__ import annotations

from typing import Any, TypeVar

from telegram.ext import ExtBot

from messenger_bot.channels.telegram.limits import Limits, bot_token
from messenger_bot.channels.telegram.request import AiohttpRequest
from messenger_bot.channels.telegram.tolerant import TolerantBot
from messenger_bot.settings import Settings

POOL_SIZE = 64
B = TypeVar("B", bound=ExtBot[Any])


async def call(bot: ExtBot[Any], method: str, params: dict[str, Any]) -> Any:
    """`method` with JSON-ready `params`, its result as Telegram sent it (a dict, a list or True).

    The same way as PTB's own methods from there on (`Bot._post`, PTB's documented path for a
    call it has no method for, as `do_api_request` takes it): the rate limiter (RetryAfter
    waited out), the request class and PTB's reading of the answer (BadRequest, Forbidden, …
    raised as for `send_message`); only the objects on either side are left out. Not
    `do_api_request` itself, which warns for a method PTB has.
    """
    return await bot._post(method, params)


def file_base_url(base_url: str) -> str:
    """https://api.telegram.org/bot -> https://api.telegram.org/file/bot (and the same for a local server)."""
    head, _, tail = base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}" if head else base_url


def build_bot(settings: Settings, limits: Limits) -> ExtBot[Any]:
    """For sending only (reminders): no getUpdates."""
    return _built(ExtBot, settings, limits)


def build_channel_bot(settings: Settings, limits: Limits) -> TolerantBot:
    """For the channel: it may poll, so one unreadable update must not stop getUpdates."""
    return _built(TolerantBot, settings, limits, polling=AiohttpRequest(1))  # one long call at a time


def _built(kind: type[B], settings: Settings, limits: Limits, polling: AiohttpRequest | None = None) -> B:
    """Either bot, the one way: the token, the API and file addresses, the limiter, our requests
    (`polling` for getUpdates; None is python-telegram-bot's own default)."""
    return kind(
        bot_token(settings),
        base_url=settings.telegram_base_url,
        base_file_url=file_base_url(settings.telegram_base_url),
        rate_limiter=limits.rate_limiter,
        request=AiohttpRequest(POOL_SIZE),
        get_updates_request=polling,
    )
