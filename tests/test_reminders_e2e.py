"""`messenger-bot reminders send-due --now …` end to end: a real subprocess, a real SQLite file,
and the fake Telegram Bot API and Twilio servers on loopback. Includes kill -9 mid-dispatch."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from messenger_bot.reminders import store as db
from messenger_bot.reminders.schedule import Schedule
from messenger_bot.storage import SQLiteStorage
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.support.chat import ChatProcess

ACCOUNT, TOKEN, SANDBOX = "AC" + "0" * 32, "twilio-test-token", "whatsapp:+14155238886"
EIGHT = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)  # 08:00 in London (BST)
HOURLY = Schedule(1, "08:00", "20:00")


def telegram_env(bot_env: dict[str, str], fake: FakeTelegram, **extra: str) -> dict[str, str]:
    return {**bot_env, "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": fake.base_url, **extra}


def send_due(env: dict[str, str], now: datetime) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "messenger_bot", "reminders", "send-due", "--now", now.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def database(env: dict[str, str]) -> Path:
    return Path(env["DATABASE_URL"].removeprefix("sqlite:///"))


async def subscribe(
    env: dict[str, str],
    users: list[str],
    channel: str = "telegram",
    schedule: Schedule = HOURLY,
    zone: str = "Europe/London",
    at: datetime = EIGHT - timedelta(hours=12),
) -> None:
    """By default hourly water reminders, 08:00–20:00 London time, set up before EIGHT."""
    store = SQLiteStorage(database(env))
    await store.open()
    try:
        for user in users:
            kind = "water" if schedule.every_hours else "caffeine"
            await db.save(store, channel, user, kind, schedule, zone, at)
    finally:
        await store.close()


def next_due(env: dict[str, str], user: str) -> datetime:
    with sqlite3.connect(database(env)) as con:
        [(due,)] = con.execute("SELECT next_due_at FROM reminder_subscriptions WHERE user_key = ?", (user,))
    return datetime.fromtimestamp(due, UTC)


def test_opted_in_by_buttons_the_reminder_arrives_once_with_its_buttons(
    bot_env: dict[str, str], telegram: FakeTelegram
) -> None:
    env = telegram_env(bot_env, telegram)
    with ChatProcess(env, "--channel", "telegram", "--user", "555") as chat:
        for payload in (
            "do:reminders:water",
            "do:reminders:tz:water:Europe/London",
            "do:reminders:water:every:1",
            "do:reminders:water:from:1:8",
            "do:reminders:water:save:1:8:20",
        ):
            chat.send({"button": payload})
    due = next_due(env, "555")
    out = send_due(env, due + timedelta(seconds=20))
    assert out.startswith("sent 1, skipped 0, failed 0")
    [message] = telegram.delivered(555)
    assert message.text.startswith("💧")  # one of the water wordings of flows/reminders.yaml
    assert [p for _, p in message.buttons] == [
        "do:reminders:done",
        "do:reminders:snooze",
        "do:reminders:stop:water",
    ]
    again = send_due(env, due + timedelta(seconds=40))
    assert again.startswith("sent 0") and len(telegram.delivered(555)) == 1


async def test_blocked_user_paused_and_429_waited_out(
    bot_env: dict[str, str], telegram: FakeTelegram
) -> None:
    env = telegram_env(bot_env, telegram)
    await subscribe(env, ["601", "602", "603"])
    telegram.block(602)
    telegram.flood(603, retry_after=1, times=1)
    out = send_due(env, EIGHT + timedelta(seconds=5))
    assert out.startswith("sent 2, skipped 1, failed 0 (blocked 1")
    assert len(telegram.delivered(601)) == 1 and len(telegram.delivered(603)) == 1
    assert [c.status for c in telegram.calls_to("sendMessage", 603)] == [429, 200]
    with sqlite3.connect(database(env)) as con:
        [(active, reason)] = con.execute(
            "SELECT active, paused_reason FROM reminder_subscriptions WHERE user_key = '602'"
        )
    assert active == 0 and "blocked" in reason.lower()
    tried = len(telegram.calls_to("sendMessage", 602))
    send_due(env, EIGHT + timedelta(hours=1, seconds=5))
    assert len(telegram.calls_to("sendMessage", 602)) == tried  # paused, not retried
    assert len(telegram.delivered(601)) == 2


async def test_whatsapp_opt_in_check_in_arrives_and_an_opted_out_number_is_paused(
    bot_env: dict[str, str],
) -> None:
    with FakeTwilio() as fake:
        env = {
            **bot_env,
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_WHATSAPP_FROM": SANDBOX,
            "TWILIO_API_BASE_URL": fake.base_url,
            "WHATSAPP_MPS": "50",
            "WHATSAPP_TEMPLATE_CAFFEINE": "HX" + "1" * 32,  # the second user has no open 24-hour window
        }
        users = ["whatsapp:+4915112345678", "whatsapp:+4915112345679"]
        with ChatProcess(env, "--channel", "whatsapp", "--user", users[0]) as chat:
            ask = chat.send({"button": "do:reminders:caffeine"})["replies"][-1]
            assert "Europe/Berlin" in ask["text"]  # proposed from the +49 number
            chat.send({"button": ask["buttons"][0]["payload"]})
            saved = chat.send({"button": "do:reminders:caffeine:at:2000"})["replies"][-1]
            assert "20:00" in saved["text"]
        await subscribe(
            env, users[1:], "whatsapp", Schedule(times=("20:00",)), "Europe/Berlin", datetime.now(UTC)
        )
        fake.fail_recipient(users[1], 400, 21610)
        out = send_due(env, next_due(env, users[0]) + timedelta(seconds=5))
        assert out.startswith("sent 1, skipped 1, failed 0 (blocked 1")
        [message] = fake.sent_to(users[0])
        assert "caffeine check-in" in message.form["Body"].lower()
        with sqlite3.connect(database(env)) as con:
            [(active,)] = con.execute(
                "SELECT active FROM reminder_subscriptions WHERE user_key = ?", (users[1],)
            )
        assert active == 0


async def test_kill_9_mid_dispatch_then_restart_sends_each_due_reminder_at_most_once(
    bot_env: dict[str, str], telegram: FakeTelegram
) -> None:
    env = telegram_env(bot_env, telegram, TELEGRAM_MPS="10")
    chats = [str(2000 + i) for i in range(40)]
    await subscribe(env, chats)
    cmd = [sys.executable, "-m", "messenger_bot", "reminders", "send-due", "--now", EIGHT.isoformat()]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        telegram.wait_for(lambda: len(telegram.calls_to("sendMessage")) >= 8)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    first = {c.chat_id for c in telegram.calls_to("sendMessage") if c.status == 200}
    assert 0 < len(first) < len(chats)  # really killed in the middle
    out = send_due(env, EIGHT + timedelta(minutes=3))  # after the killed process's lease ran out
    interrupted = int(re.search(r"in flight at an earlier stop (\d+)", out).group(1))  # type: ignore[union-attr]
    delivered = [c.chat_id for c in telegram.calls_to("sendMessage") if c.status == 200]
    assert len(delivered) == len(set(delivered))  # nobody got the 08:00 reminder twice
    with sqlite3.connect(database(env)) as con:
        listed = {
            int(u)
            for (u,) in con.execute("SELECT user_key FROM reminder_outbox WHERE status = 'interrupted'")
        }
    assert len(listed) == interrupted and interrupted <= 20  # at most one chunk (2 s at 10/s) was in flight
    assert set(delivered) | listed == {int(c) for c in chats}  # every due reminder: sent, or listed in flight
    assert f"sent {len(set(delivered) - first)}," in out
