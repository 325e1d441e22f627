"""Inbound de-duplication: each Telegram update is answered once, and again only if its turn failed.

Telegram delivers a webhook update again when it did not get a 2xx in time, so two deliveries
of one update may even run side by side. The id is recorded under a unique key before the turn,
so only the first is answered; when the turn fails the id is forgotten, so the redelivery is
answered instead of dropped as a duplicate. The method names (`first_time`, `forget`, `prune`)
are those every channel's inbound log has, so this can become the shared one.
"""

from __future__ import annotations

import time

from messenger_bot.storage import Storage

#: Telegram redelivers for about a day at most; two days of ids are kept.
UPDATE_KEEP_SECONDS = 2 * 24 * 3600
#: Old ids are pruned once in this many inserts (and at start), not on every update.
PRUNE_EVERY = 1000


class UpdateLog:
    """Update ids seen, in the `telegram_updates` table."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self._inserts = 0

    async def first_time(self, update_id: int) -> bool:
        """True for the first delivery of an update; False for a redelivery of one being or already
        answered."""
        count = await self.store.execute(
            "INSERT INTO telegram_updates (update_id, received_at) VALUES (?, ?) "
            "ON CONFLICT (update_id) DO NOTHING", update_id, time.time(),
        )
        self._inserts += 1
        if self._inserts % PRUNE_EVERY == 0:
            await self.prune()
        return count > 0

    async def forget(self, update_id: int) -> None:
        """The update's turn failed: its redelivery must be answered, not taken for a duplicate."""
        await self.store.execute("DELETE FROM telegram_updates WHERE update_id = ?", update_id)

    async def prune(self) -> None:
        cutoff = time.time() - UPDATE_KEEP_SECONDS
        await self.store.execute("DELETE FROM telegram_updates WHERE received_at < ?", cutoff)
