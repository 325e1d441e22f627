"""Each inbound message answered once, and a message whose turn failed answered on its retry.

Providers deliver a webhook again when it was not acknowledged (Twilio after a 5xx or a
timeout, Telegram after a failed update). The message's id is recorded before its turn;
a second delivery of a recorded id is a duplicate. When the turn fails or is cancelled
(the request ran past its deadline), the id is forgotten again, so the provider's retry
gets its answer instead of being dropped as a duplicate. One table for all channels,
keyed by channel and id; ids only, nothing about the user (retention: DEDUP_DAYS).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from messenger_bot.storage import Storage
from messenger_bot.storage.base import ts

T = TypeVar("T")
#: An id is remembered this long; providers redeliver within minutes or hours, not days. The
#: retention job (DEDUP_DAYS, default the same) may forget sooner.
KEEP = timedelta(days=2)
#: Forget old ids every this many new ones (besides the retention job).
PRUNE_EVERY = 1000


class InboundOnce:
    """The inbound ids of one channel already being answered or answered."""

    def __init__(self, store: Storage, channel: str, keep: timedelta = KEEP) -> None:
        self.store = store
        self.channel = channel
        self.keep = keep
        self._new_since_prune = 0
        self._releasing: set[asyncio.Task[None]] = set()

    async def first(self, message_id: str, now: datetime) -> bool:
        """True the first time an id is seen (and old ids forgotten now and then); False for a
        redelivery of it. A channel that cannot wrap its turn in `once` calls this and `release`."""
        count = await self.store.execute(
            "INSERT INTO inbound_messages (channel, message_id, received_at) VALUES (?, ?, ?) "
            "ON CONFLICT (channel, message_id) DO NOTHING",
            self.channel, message_id, ts(now),
        )
        if count > 0:
            await self._maybe_prune(now)
        return count > 0

    async def release(self, message_id: str) -> None:
        """Forget an id whose answer failed, so the provider's retry of it is answered."""
        await self.store.execute(
            "DELETE FROM inbound_messages WHERE channel = ? AND message_id = ?", self.channel, message_id
        )

    async def forget_old(self, now: datetime) -> int:
        return await self.store.execute(
            "DELETE FROM inbound_messages WHERE channel = ? AND received_at < ?",
            self.channel, ts(now - self.keep),
        )

    async def once(self, message_id: str, now: datetime, work: Callable[[], Awaitable[T]]) -> T | None:
        """`work`'s result the first time `message_id` comes, None for a redelivery. When `work`
        fails (the provider is answered 5xx and retries) or is cancelled, the id is forgotten."""
        try:
            if not await self.first(message_id, now):
                return None
        except asyncio.CancelledError:
            self._release_later(message_id)
            raise
        try:
            return await work()
        except Exception:
            await self.release(message_id)
            raise
        except asyncio.CancelledError:
            self._release_later(message_id)
            raise

    def _release_later(self, message_id: str) -> None:
        """Past a deadline (a locked database) the request is answered 503 and its turn cancelled;
        the id is released once the database lets it, so the retry is not a duplicate."""
        task = asyncio.get_running_loop().create_task(self.release(message_id))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _maybe_prune(self, now: datetime) -> None:
        self._new_since_prune += 1
        if self._new_since_prune >= PRUNE_EVERY:
            self._new_since_prune = 0
            await self.forget_old(now)
