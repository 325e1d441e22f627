"""One channel's overall send pace, with answers to a person served before bulk sends.

A channel's provider allows so many messages a second in all. Replies to someone who just
wrote and reminders the bot sends first share that limit, but a person waiting for an
answer feels every queued reminder ahead of them, and a reminder does not mind arriving a
little later. So each send takes a turn from `Lanes`, a leaky bucket that drains at `rate`:

- a bulk send (a reminder) may go while the bucket holds nothing, so bulk sends are evenly
  paced, at the full rate when nobody is talking;
- a reply may go while it holds less than `1 + reply_burst`: a few replies go at once even
  while reminders fill every paced turn, so an answer does not wait for a turn at all;
- when both wait, replies go first, but bulk keeps one turn in `bulk_every`: a batch of
  reminders is claimed under a lease and must be sent well inside it.

In any one-second window at most `1 + reply_burst + rate` sends go, so the caller passes a
rate `reply_burst` below the paced rate it would use alone.
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
    """Turns at `rate` a second; replies may also use `reply_burst` turns kept free of bulk sends."""

    def __init__(self, rate: float, reply_burst: int = 0, bulk_every: int = BULK_EVERY) -> None:
        self.rate = rate
        self.bulk_every = bulk_every
        self._ceiling = {Lane.REPLY: 1.0 + reply_burst, Lane.BULK: 1.0}
        self._level = 0.0
        self._at = float("-inf")
        self._waiting: tuple[deque[asyncio.Future[None]], ...] = tuple(deque() for _ in Lane)
        self._timer: asyncio.TimerHandle | None = None
        #: Turns in a row given to replies while bulk sends were waiting.
        self._replies_ahead = 0

    def waiting(self, lane: Lane) -> int:
        """How many sends of this lane wait for a turn (for tests and figures)."""
        return sum(not f.done() for f in self._waiting[lane])

    async def turn(self, lane: Lane) -> None:
        """Return when this send may go: at once if its lane has room and none of it waits, else in order."""
        if self._live(lane) is None and self._room(lane) <= 0:
            self._level += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[lane].append(future)
        self._reschedule()
        await future  # a cancelled waiter is skipped when its turn comes

    def _room(self, lane: Lane) -> float:
        """Seconds until a send of this lane fits in the bucket (0 or less: now)."""
        now = asyncio.get_running_loop().time()
        self._level = max(0.0, self._level - (now - self._at) * self.rate)
        self._at = now
        return (self._level + 1 - self._ceiling[lane]) / self.rate

    def _reschedule(self) -> None:
        """One timer, for the lane whose turn is next."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        lane = self._next_lane()
        if lane is not None:
            self._timer = asyncio.get_running_loop().call_later(max(0.0, self._room(lane)), self._release)

    def _release(self) -> None:
        self._timer = None
        lane = self._next_lane()
        if lane is not None and self._room(lane) <= 1e-9:
            bulk_waits = self._live(Lane.BULK) is not None
            self._replies_ahead = self._replies_ahead + 1 if lane is Lane.REPLY and bulk_waits else 0
            self._level += 1
            self._waiting[lane].popleft().set_result(None)
        self._reschedule()

    def _next_lane(self) -> Lane | None:
        """Replies first, but for bulk's share while both wait."""
        replies, bulk = (self._live(lane) is not None for lane in Lane)
        if replies and (not bulk or self._replies_ahead < self.bulk_every - 1):
            return Lane.REPLY
        return Lane.BULK if bulk else None

    def _live(self, lane: Lane) -> asyncio.Future[None] | None:
        """The oldest waiter of a lane still waiting (cancelled ones are dropped), left in place."""
        queue = self._waiting[lane]
        while queue and queue[0].done():
            queue.popleft()
        return queue[0] if queue else None
