"""One channel's overall send pace, with answers to a person served before bulk sends.

A channel's provider allows so many messages a second in all. Replies to someone who just
wrote and reminders the bot sends first share that limit, but a person waiting for an
answer feels every queued reminder ahead of them, and a reminder does not mind arriving a
few hundred milliseconds later. So each send takes a turn from `Lanes`: turns are spaced
`interval` apart, exactly as one paced limiter would space them, and whenever both lanes
are waiting the reply lane goes first. Bulk sends fill every turn no reply needs, so
reminders still go out at the full rate when nobody is talking, and they keep a reserved
share of the turns (one in `BULK_EVERY`) even when replies alone would fill them all: a
batch of reminders is claimed under a lease, and must be sent well inside it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from enum import IntEnum

#: While both lanes wait, every this-many-th turn goes to the bulk lane (a quarter of the rate).
BULK_EVERY = 4


class Lane(IntEnum):
    """Lower goes first."""

    REPLY = 0
    BULK = 1


class Lanes:
    """Turns `interval` seconds apart; a waiting reply gets the next turn, but for bulk's share."""

    def __init__(self, interval: float, bulk_every: int = BULK_EVERY) -> None:
        self.interval = interval
        self.bulk_every = bulk_every
        #: Turns in a row given to replies while bulk sends were waiting.
        self._replies_ahead = 0
        self._next_at = float("-inf")
        self._waiting: tuple[deque[asyncio.Future[None]], ...] = tuple(deque() for _ in Lane)
        self._timer: asyncio.TimerHandle | None = None

    def waiting(self, lane: Lane) -> int:
        """How many sends of this lane wait for a turn (for tests and figures)."""
        return sum(not f.done() for f in self._waiting[lane])

    async def turn(self, lane: Lane) -> None:
        """Return when this send may go: at once if a turn is free and nobody waits, else in order."""
        if self._timer is None and not any(self._waiting) and self._now() >= self._next_at:
            self._take()
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[lane].append(future)
        self._schedule()
        await future  # a cancelled waiter is skipped when its turn comes

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _take(self) -> None:
        self._next_at = max(self._now(), self._next_at) + self.interval

    def _schedule(self) -> None:
        """Wake the next waiter at the next turn (one timer at a time)."""
        if self._timer is not None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._next_at - self._now())
        self._timer = loop.call_later(delay, self._release)

    def _release(self) -> None:
        self._timer = None
        future = self._next_waiter()
        if future is not None:
            self._take()
            future.set_result(None)
        if any(self._waiting):
            self._schedule()

    def _next_waiter(self) -> asyncio.Future[None] | None:
        """The oldest live waiter of the lane whose turn it is."""
        replies, bulk = (self._live(lane) for lane in Lane)
        if replies is not None and (bulk is None or self._replies_ahead < self.bulk_every - 1):
            self._replies_ahead = self._replies_ahead + 1 if bulk is not None else 0
            return self._waiting[Lane.REPLY].popleft()
        self._replies_ahead = 0
        return self._waiting[Lane.BULK].popleft() if bulk is not None else None

    def _live(self, lane: Lane) -> asyncio.Future[None] | None:
        """The oldest waiter of a lane still waiting (cancelled ones are dropped), left in place."""
        queue = self._waiting[lane]
        while queue and queue[0].done():
            queue.popleft()
        return queue[0] if queue else None
