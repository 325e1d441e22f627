"""Telegram's send limits, shared by every bot object of one token in one process.

Telegram allows about 30 messages a second overall and one a second per chat. The overall
pace is `Lanes` (replies to a person ahead of reminders), the per-chat pace `ChatPacer`;
python-telegram-bot's AIORateLimiter holds the group limit and waits out `RetryAfter`. One
set per token and event loop, so the channel's replies and the reminder sender never add up
to more than the limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from telegram.constants import FloodLimit
from telegram.ext import AIORateLimiter

from messenger_bot.lanes import Lanes
from messenger_bot.settings import Settings
from messenger_bot.throttle import pace_interval

CHAT_INTERVAL = 1.0 / FloodLimit.MESSAGES_PER_SECOND_PER_CHAT
#: How many times AIORateLimiter waits out a RetryAfter before giving up on a message.
RETRY_AFTER_TRIES = 3
#: Share of the overall rate kept free of reminders, so a reply goes at once (see reply_lanes).
REPLY_SHARE = 0.15


class ChatPacer:
    """At most one message per `interval` to each chat, measured from the end of the last.

    Chats are kept in least-recently-used order and forgotten once their interval has
    passed (a chat whose pace has run out is like a new one), so memory follows the chats
    of the last second or so: the overall limit keeps that to a few dozen.
    """

    def __init__(self, interval: float = CHAT_INTERVAL) -> None:
        self.interval = interval
        self._chats: OrderedDict[int, _Pace] = OrderedDict()

    @asynccontextmanager
    async def slot(self, chat_id: int) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        self._forget(loop.time())
        pace = self._chats.get(chat_id)
        if pace is None:
            pace = self._chats[chat_id] = _Pace(asyncio.Lock())
        self._chats.move_to_end(chat_id)
        async with pace.lock:
            delay = pace.next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                yield
            finally:
                pace.next_at = loop.time() + self.interval

    def _forget(self, now: float) -> None:
        """Oldest first, until a chat still sending or still waiting out its interval."""
        while self._chats:
            chat_id, pace = next(iter(self._chats.items()))
            if pace.lock.locked() or pace.next_at > now:
                return
            del self._chats[chat_id]


@dataclass
class _Pace:
    lock: asyncio.Lock
    next_at: float = 0.0


@dataclass
class Limits:
    #: Waits out RetryAfter and holds the group limit; the overall pace is `lanes`.
    rate_limiter: AIORateLimiter
    pacer: ChatPacer
    lanes: Lanes


_LIMITS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Limits]] = weakref.WeakKeyDictionary()


def limits_for(settings: Settings) -> Limits:
    """The one set of limits for this bot token in this process (and event loop)."""
    token = bot_token(settings)
    key = hashlib.sha256(token.encode()).hexdigest()
    per_loop = _LIMITS.setdefault(asyncio.get_running_loop(), {})
    if key not in per_loop:
        lanes = reply_lanes(settings.share(settings.telegram_mps))
        limiter = AIORateLimiter(overall_max_rate=0, max_retries=RETRY_AFTER_TRIES)
        per_loop[key] = Limits(limiter, ChatPacer(), lanes)
    return per_loop[key]


def reply_lanes(per_second: float) -> Lanes:
    """Evenly paced a little under the rate (see pace_interval), less a few turns kept for replies:
    a 15% share (4 at 30/s), so no one-second window holds more than before."""
    burst = int(per_second * REPLY_SHARE)
    return Lanes(1 / pace_interval(per_second) - burst, reply_burst=burst)


def bot_token(settings: Settings) -> str:
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    return settings.telegram_bot_token.get_secret_value()
