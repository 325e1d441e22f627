"""Flood control and pacing: one key is slowed, others are not, and memory follows activity."""

from __future__ import annotations

import asyncio

from messenger_bot.throttle import Throttle, pace_interval


async def test_a_flooding_key_is_refused_while_another_passes() -> None:
    throttle = Throttle(3, 10)
    assert [await throttle.allow("flooder") for _ in range(5)] == [True, True, True, False, False]
    assert await throttle.allow("someone else")


async def test_keys_whose_bucket_refilled_are_forgotten() -> None:
    throttle = Throttle(5, 0.05)
    for i in range(300):
        await throttle.allow(f"user-{i}")
    assert len(throttle) == 300
    await asyncio.sleep(0.1)  # every bucket is full again: they are all like new ones
    for i in range(300):
        await throttle.allow(f"later-{i}")
    assert len(throttle) < 310, "the quiet keys were dropped as new ones came"


def test_pacing_keeps_every_one_second_window_within_the_limit() -> None:
    for limit in (0.33, 1, 10, 30, 80):
        interval = pace_interval(limit)
        most_in_a_second = int(1 / interval) + 1  # sends at 0, interval, 2 x interval, ... within [t, t + 1]
        assert most_in_a_second <= max(1, int(limit)), limit
