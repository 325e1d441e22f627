"""A person's answer never waits behind the reminders going out at the same moment.

The real `serve` (Telegram by webhook, the scheduler on, Telegram's production limit of
30 messages a second) against the fake Bot API. Many reminders fall due at once; while
they are leaving, a person writes. The order in which the fake receives the messages
shows whether the answer went ahead of the reminders already queued.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.telegram_api import FakeTelegram, text_update
from tests.support.server import ServeProcess

SECRET = "lanes-Secret_0123456789"
REMINDER_CHATS = 900_000_000
PERSON = 4242
#: Two chunks of what the dispatcher keeps in flight at 30/s (two seconds' worth each).
DUE = 120
SPEC = json.dumps({"every_hours": 1, "start": "00:00", "end": "23:59"})


@pytest.fixture
def serving(bot_env: dict[str, str], telegram: FakeTelegram) -> Iterator[tuple[ServeProcess, Path]]:
    env = {
        **bot_env, "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_BASE_URL": telegram.base_url,
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram/webhook",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
    }
    server = ServeProcess(env)
    try:
        server.wait_healthy()
        yield server, Path(env["DATABASE_URL"].removeprefix("sqlite:///"))
    finally:
        server.stop()


def seed_due(database: Path, count: int) -> None:
    """`count` hourly water reminders on Telegram, all due a moment ago."""
    now = time.time()
    rows = [("telegram", str(REMINDER_CHATS + i), "water", SPEC, "Etc/UTC", 1, now - 1, now, now)
            for i in range(count)]
    with sqlite3.connect(database, timeout=30) as con:
        con.executemany(
            "INSERT INTO reminder_subscriptions (channel, user_key, kind, spec, timezone, active,"
            " next_due_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows,
        )


def test_an_answer_overtakes_the_reminders_queued_before_it(
    serving: tuple[ServeProcess, Path], telegram: FakeTelegram
) -> None:
    server, database = serving
    seed_due(database, DUE)

    def reminders() -> int:
        return sum(c.chat_id is not None and c.chat_id >= REMINDER_CHATS
                   for c in telegram.calls_to("sendMessage"))

    telegram.wait_for(lambda: reminders() >= 1)  # the scheduler's next tick has started sending
    update = text_update(telegram.next_update_id(), PERSON, "can coffee make my lip twitch?")
    response = httpx.post(f"{server.url}/telegram/webhook", json=update,
                          headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=60)
    assert response.status_code == 200
    telegram.wait_for(lambda: reminders() == DUE)

    order = [c.chat_id for c in telegram.calls_to("sendMessage")]
    before = order[: order.index(PERSON)]
    ahead = sum(chat is not None and chat >= REMINDER_CHATS for chat in before)
    # One lane would have sent the whole first chunk (60) before the answer; the reply lane
    # lets it out within a few turns of arriving.
    assert ahead < DUE // 4, f"{ahead} reminders went out before the answer"
    assert len(set(order) - {PERSON}) == DUE  # and every reminder still went, once
    assert order.count(PERSON) == 1
