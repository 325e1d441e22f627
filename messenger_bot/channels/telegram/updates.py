"""Telegram's use of the shared inbound de-duplication (channels/shared/dedup.py): each update is
answered once, and again only if its turn failed.

Telegram delivers a webhook update again when it did not get a 2xx in time, so two deliveries of
one update may even run side by side. PTB runs an update's handlers in groups, so the id is
recorded by the first group (`first_time`) and forgotten by the error handler (`forget`) rather
than around one call: the two halves of `InboundOnce.once`. The update id, as text, is the
message id under the channel 'telegram'.
"""

from __future__ import annotations

from datetime import UTC, datetime

from messenger_bot.channels.shared.dedup import InboundOnce
from messenger_bot.storage import Storage

CHANNEL = "telegram"


class UpdateLog:
    """Update ids seen, in `inbound_messages`."""

    def __init__(self, store: Storage) -> None:
        self.inbound = InboundOnce(store, CHANNEL)

    async def first_time(self, update_id: int) -> bool:
        """True for the first delivery of an update; False for a redelivery of one being or already
        answered."""
        return await self.inbound.first(str(update_id), _now())

    async def forget(self, update_id: int) -> None:
        """The update's turn failed: its redelivery must be answered, not taken for a duplicate."""
        await self.inbound.release(str(update_id))

    async def prune(self) -> None:
        await self.inbound.forget_old(_now())


def _now() -> datetime:
    return datetime.now(UTC)
