"""Flood control and pacing: one key is slowed, others are not, and memory follows activity.

The throttle's buckets read the running event loop's clock, so each test runs
on a loop whose clock the test sets: time passes when the test says so, never because the
machine was slow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from messenger_bot.throttle import Throttle, pace_interval


class Clock:
    """A clock that stands still until the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def on_clock(scenario: Callable[[Clock], Awaitable[None]]) -> None:
    """Run `scenario` on a fresh event loop whose time() is a `Clock` the scenario moves."""
    clock = Clock()
    loop = asyncio.new_event_loop()
    loop.time = clock  # type: ignore[method-assign]
    try:
        loop.run_until_complete(scenario(clock))
    finally:
        loop.close()


def test_a_flooding_key_is_refused_while_another_passes() -> None:
    async def scenario(clock: Clock) -> None:
        throttle = Throttle(3, 10)
        assert [await throttle.allow("flooder") for _ in range(5)] == [True, True, True, False, False]
        assert await throttle.allow("someone else")
        clock.now += 10 / 3  # one unit drains: one more message, and only one
        assert [await throttle.allow("flooder") for _ in range(2)] == [True, False]

    on_clock(scenario)


def test_keys_whose_bucket_refilled_are_forgotten() -> None:
    async def scenario(clock: Clock) -> None:
        throttle = Throttle(5, 60)
        for i in range(300):
            await throttle.allow(f"user-{i}")
        assert len(throttle) == 300, "no time has passed: every bucket still holds its message"
        clock.now += 60  # every bucket is full again: they are all like new ones
        for i in range(300):
            await throttle.allow(f"later-{i}")
        assert len(throttle) < 310, "the quiet keys were dropped as new ones came"

    on_clock(scenario)


def test_pacing_keeps_every_one_second_window_within_the_limit() -> None:
    for limit in (0.33, 1, 10, 30, 80):
        interval = pace_interval(limit)
        most_in_a_second = int(1 / interval) + 1  # sends at 0, interval, 2 x interval, ... within [t, t + 1]
        assert most_in_a_second <= max(1, int(limit)), limit
