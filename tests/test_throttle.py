"""Flood control and pacing: one key is slowed, others are not, and memory follows activity.

The throttle's buckets read the running event loop's clock, so each test runs
on a loop whose clock the test sets: time passes when the test says so, never because the
machine was slow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from messenger_bot.content import Content
from messenger_bot.conversation import Incoming
from messenger_bot.engine import Engine
from messenger_bot.storage.sqlite import SQLiteStorage
from messenger_bot.throttle import Admission, FloodGate, Throttle, pace_interval


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


# -- the alert a flooding sender still gets ----------------------------------------------------------


@pytest.fixture(scope="module")
def engine(content: Content, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The engine of every language; a held-back message is never loaded or saved, so the store
    is never opened."""
    return Engine(content, SQLiteStorage(tmp_path_factory.mktemp("throttle") / "bot.sqlite3"))


@pytest.mark.parametrize(("hint", "text", "alert"), [
    ("es", "de repente tengo la cara caida y no puedo hablar", "Llama ya al 112, 911 o 999"),
    (None, "de repente tengo la cara caida y no puedo hablar", "Llama ya al 112, 911 o 999"),
    ("pt-BR", "de repente meu rosto ficou caido e nao consigo falar", "Ligue agora para 112, 911 ou 999"),
    ("es", "my face is drooping and I can't speak", "Call 112, 911 or 999 now."),
])
def test_a_flooding_sender_gets_the_alert_in_the_language_of_the_message(
    engine: Engine, hint: str | None, text: str, alert: str
) -> None:
    """Over the limit, triage still reads the message; the alert is in the language whose triage
    fired (the app's language tried first), not the default always; a calm message gets nothing."""
    gate = FloodGate(Throttle(1, 60))

    def said(words: str) -> Incoming:
        return Incoming("telegram", "7", text=words, language=hint)

    async def scenario(clock: Clock) -> None:
        assert (await gate.admit(engine, said("hola"), "7")).admitted
        refused = await gate.admit(engine, said(text), "7")
        assert not refused.admitted
        [reply] = refused.alert
        assert reply.kind == "alert" and alert in reply.text
        assert await gate.admit(engine, said("hola otra vez"), "7") == Admission(False, [])

    on_clock(scenario)
