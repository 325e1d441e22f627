"""A clock a test moves by hand, for code that reads the time and waits (the dispatcher's leases).

`advance()` moves the time and wakes every `sleep()` whose moment has come, so a test decides
when a lease would lapse or a heartbeat would beat, without waiting for real time to pass.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self._now = start
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        wake = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + timedelta(seconds=seconds), wake))
        await wake

    def advance(self, delta: timedelta) -> None:
        self._now += delta
        due = [s for s in self._sleepers if s[0] <= self._now or s[1].done()]
        for sleeper in due:
            self._sleepers.remove(sleeper)
            if not sleeper[1].done():
                sleeper[1].set_result(None)


class StalledClock:
    """The same time as `clock`, but its sleeps never end: a process too stalled to renew its leases."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def now(self) -> datetime:
        return self.clock.now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()
