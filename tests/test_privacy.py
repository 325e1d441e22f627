"""Privacy promises (SECURITY.md), checked the way the world would check them.

A deleted user leaves nothing that late provider callbacks can bring back; every table has a
retention and old rows go; "my data" shows every stored field; no secret is printed when a
setting is wrong or a start fails.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from messenger_bot.channels.whatsapp.store import WhatsAppStore
from messenger_bot.content import Content
from messenger_bot.features import user_tables as feature_tables
from messenger_bot.settings import load_settings
from messenger_bot.storage.base import OWN_TABLES, Storage, UserState
from messenger_bot.wiring import FEATURES, prune, retention_rules
from tests.fakes.telegram_api import FakeTelegram, text_update
from tests.support.chat import ChatProcess
from tests.support.server import ServeProcess, free_port

ACCOUNT = "AC" + "2" * 32
TWILIO_TOKEN = "privacy-auth-token-0123456789abcdef"
SANDBOX = "whatsapp:+14155238886"
_sids = itertools.count(1)


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A `messenger-bot` environment with its own SQLite file and only the given settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}", "PYTHONUNBUFFERED": "1", **extra})
    return env


def every_value(db: Path) -> list[tuple[str, str]]:
    """(table, value) for every text or number stored anywhere in the database file."""
    found = []
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                found.extend((table, str(value)) for value in row if value is not None)
    return found


# -- a deleted WhatsApp user stays deleted -------------------------------------------------


class WhatsAppBot:
    """A real `serve` with WhatsApp on, posts signed as Twilio signs them."""

    def __init__(self, serve: ServeProcess, http: httpx.Client, db: Path) -> None:
        self.serve, self.http, self.db = serve, http, db

    def post(self, path: str, fields: dict[str, str]) -> httpx.Response:
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(self.serve.url + path, fields)
        return self.http.post(self.serve.url + path, data=fields, headers={"X-Twilio-Signature": signature})

    def say(self, number: str, body: str) -> tuple[str, str | None]:
        """What the phone shows, and the status callback URL Twilio is told to call for it."""
        fields = {"MessageSid": f"SM{next(_sids):032d}", "AccountSid": ACCOUNT, "From": f"whatsapp:{number}",
                  "To": SANDBOX, "Body": body, "NumMedia": "0", "WaId": number.lstrip("+")}
        response = self.post("/whatsapp/webhook", fields)
        assert response.status_code == 200, response.text
        messages = list(ET.fromstring(response.text).iter("Message"))
        return "\n".join(m.text or "" for m in messages), messages[0].get("action") if messages else None


@pytest.fixture
def whatsapp_bot(tmp_path: Path) -> Iterator[WhatsAppBot]:
    env = clean_env(tmp_path, TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
                    TWILIO_WHATSAPP_FROM=SANDBOX, TWILIO_API_BASE_URL="http://127.0.0.1:9")
    with ServeProcess(env, "--no-scheduler") as serve, httpx.Client(timeout=10) as http:
        yield WhatsAppBot(serve, http, tmp_path / "bot.sqlite3")


def test_late_status_callbacks_after_delete_bring_nothing_back(whatsapp_bot: WhatsAppBot) -> None:
    number = "+447700900555"
    bot = whatsapp_bot
    bot.say(number, "hi")
    assert "delete" in bot.say(number, "delete my data")[0].lower()
    confirmation, callback = bot.say(number, "yes")
    assert confirmation and callback is not None and callback.endswith("/whatsapp/status")
    # Twilio now reports on the confirmation reply, in order, late, and with an error code that pauses.
    reply_sid = f"SM{next(_sids):032d}"
    for state in ("queued", "sent", "delivered", "read"):
        status = {"MessageSid": reply_sid, "MessageStatus": state, "To": f"whatsapp:{number}",
                  "From": SANDBOX, "AccountSid": ACCOUNT}
        assert bot.post("/whatsapp/status", status).status_code == 204
    failed = {"MessageSid": f"SM{next(_sids):032d}", "MessageStatus": "undelivered", "ErrorCode": "63024",
              "To": f"whatsapp:{number}", "From": SANDBOX, "AccountSid": ACCOUNT}
    assert bot.post("/whatsapp/status", failed).status_code == 204
    digits = number.lstrip("+")
    assert [(t, v) for t, v in every_value(bot.db) if digits in v] == []


async def test_a_status_is_kept_for_a_known_user_and_dropped_for_an_unknown_one(store: Storage) -> None:
    whatsapp = WhatsAppStore(store)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    await store.save_user(UserState("whatsapp", "whatsapp:+447700900001", first_seen=now, last_seen=now))
    await whatsapp.record("SM" + "1" * 32, "whatsapp:+447700900001", "sent", now, kind="reply")
    await whatsapp.record("SM" + "1" * 32, "whatsapp:+447700900001", "delivered", now, error_code=None)
    await whatsapp.record("SM" + "2" * 32, "whatsapp:+447700900002", "delivered", now, kind="reply")
    rows = await store.fetch("SELECT sid, user_key, status FROM whatsapp_outbound ORDER BY sid")
    assert [tuple(r) for r in rows] == [("SM" + "1" * 32, "whatsapp:+447700900001", "delivered")]


# -- no secret in any error message ----------------------------------------------------------

PASSWORD = "hunter2-pw"
COMMANDS = [["serve", "--no-scheduler"], ["migrate"], ["chat", "--json"]]


def run_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "messenger_bot", *args], env=env, input="", text=True,
                          capture_output=True, timeout=90)


def run_until(env: dict[str, str], marker: re.Pattern[str], *args: str) -> str:
    """`messenger-bot ARGS` until a line of its output matches `marker` (or it exits); its output."""
    proc = subprocess.Popen([sys.executable, "-m", "messenger_bot", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if marker.search(line):
                seen.set()
        seen.set()  # it exited

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(90), "neither the expected line nor an exit:\n" + "".join(lines)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=10)
    return "".join(lines)


@pytest.mark.parametrize("url", [
    f"mysql://bot:{PASSWORD}@db.example/bot",
    f"bot:{PASSWORD}@db.example/bot",
    f"postgresql://bot:{PASSWORD}@db.example:notaport/bot",
    f"postgresql://bot:{PASSWORD}@[db.example/bot",
])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_malformed_database_url_is_named_without_its_password(
    tmp_path: Path, url: str, command: list[str]
) -> None:
    done = run_command(clean_env(tmp_path, DATABASE_URL=url), *command)
    assert done.returncode == 2
    assert "DATABASE_URL" in done.stderr and "bot:***@" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("url", [
    f"postgresql://no_such_role:{PASSWORD}@127.0.0.1:5432/test",
    f"postgresql://bot@127.0.0.1:9/bot?password={PASSWORD}",
])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_database_that_refuses_is_reported_without_its_password(
    tmp_path: Path, url: str, command: list[str]
) -> None:
    done = run_command(clean_env(tmp_path, DATABASE_URL=url, PORT=str(free_port())), *command)
    assert done.returncode != 0
    assert done.stderr.strip()
    assert PASSWORD not in done.stdout + done.stderr


def test_a_refused_telegram_token_is_named_but_never_shown(tmp_path: Path, telegram: FakeTelegram) -> None:
    token = "987654:WRONG-token-hunter2-abcdef"
    env = clean_env(tmp_path, TELEGRAM_BOT_TOKEN=token, TELEGRAM_BASE_URL=telegram.base_url,
                    PORT=str(free_port()))
    output = run_until(env, re.compile("TELEGRAM_BOT_TOKEN"), "serve", "--no-scheduler")
    assert "TELEGRAM_BOT_TOKEN" in output
    assert token not in output and token.split(":")[1] not in output


def test_an_unreachable_bot_api_is_reported_without_the_token(tmp_path: Path) -> None:
    token = "123456:UNREACHED-token-hunter2"
    env = clean_env(tmp_path, TELEGRAM_BOT_TOKEN=token, TELEGRAM_BASE_URL=f"http://127.0.0.1:{free_port()}/bot",
                    PORT=str(free_port()))
    noticed = re.compile(r'"level": "(ERROR|WARNING)"')  # it stops, or goes on without Telegram and says so
    output = run_until(env, noticed, "serve", "--no-scheduler")
    assert re.search(r'(?i)"level": "(ERROR|WARNING)"', output)
    assert token.split(":")[1] not in output


def test_a_malformed_webhook_secret_is_named_but_never_shown(tmp_path: Path) -> None:
    secret = "not allowed: hunter2 spaces!"
    env = clean_env(tmp_path, TELEGRAM_BOT_TOKEN="123456:TEST-token", TELEGRAM_WEBHOOK_SECRET=secret,
                    TELEGRAM_WEBHOOK_URL="https://bot.example.org/telegram/webhook")
    done = run_command(env, "serve", "--no-scheduler")
    assert done.returncode == 2 and "TELEGRAM_WEBHOOK_SECRET" in done.stderr
    assert "hunter2" not in done.stdout + done.stderr


def test_twilio_out_of_reach_is_reported_without_the_auth_token(tmp_path: Path) -> None:
    env = clean_env(tmp_path, TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
                    TWILIO_WHATSAPP_FROM=SANDBOX, TWILIO_API_BASE_URL=f"http://127.0.0.1:{free_port()}")
    done = run_command(env, "whatsapp", "sync-templates")
    assert done.returncode != 0 and done.stderr.strip()
    assert TWILIO_TOKEN not in done.stdout + done.stderr and "Traceback" not in done.stderr


# -- retention -------------------------------------------------------------------------------

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def table_names(store: Storage) -> set[str]:
    if store.backend == "sqlite":
        rows = await store.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    else:
        rows = await store.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
    return {row[0] for row in rows}


async def test_every_table_has_a_retention_rule(store: Storage) -> None:
    """A migration that adds a table must say how long its rows live (retention.RULES or its
    feature's FeatureSpec.retention, SECURITY.md)."""
    assert await table_names(store) == set(retention_rules())


async def seed_user(store: Storage, channel: str, key: str, first: timedelta, last: timedelta) -> None:
    await store.save_user(UserState(channel, key, first_seen=NOW - first, last_seen=NOW - last))
    await store.execute("INSERT INTO water_log (channel, user_key, day, glasses) VALUES (?, ?, ?, 2)",
                        channel, key, (NOW - last).date().isoformat())


async def seed_reminder(store: Storage, channel: str, key: str, active: bool) -> None:
    await store.execute(
        "INSERT INTO reminder_subscriptions (channel, user_key, kind, spec, timezone, active, created_at, "
        "updated_at) VALUES (?, ?, 'water', '{}', 'UTC', ?, ?, ?)",
        channel, key, int(active), NOW.timestamp(), NOW.timestamp())


async def remaining(store: Storage, sql: str) -> list[tuple[Any, ...]]:
    return sorted(tuple(row) for row in await store.fetch(sql))


async def test_a_pass_forgets_what_is_past_its_time_and_keeps_the_rest(store: Storage) -> None:
    day, hour = timedelta(days=1), timedelta(hours=1)
    await seed_user(store, "web", "web-quiet-a-month", 40 * day, 31 * day)
    await seed_user(store, "web", "web-last-week", 40 * day, 7 * day)
    await seed_user(store, "web", "web-one-message", 25 * hour, 25 * hour)
    await seed_user(store, "web", "web-one-message-today", 2 * hour, 2 * hour)
    await seed_user(store, "web", "web-came-back", 26 * hour, 25 * hour)
    await seed_user(store, "telegram", "42", 400 * day, 366 * day)
    await seed_user(store, "telegram", "43", 400 * day, 366 * day)
    await seed_reminder(store, "telegram", "43", active=True)
    await seed_user(store, "whatsapp", "whatsapp:+447700900777", 400 * day, 366 * day)
    await seed_reminder(store, "whatsapp", "whatsapp:+447700900777", active=False)
    await seed_user(store, "whatsapp", "whatsapp:+447700900778", 20 * day, 10 * day)
    old, recent = (NOW - 40 * day).timestamp(), (NOW - hour).timestamp()
    for update_id, at in ((1, old), (2, recent)):
        await store.execute("INSERT INTO inbound_messages (channel, message_id, received_at) "
                            "VALUES ('telegram', ?, ?)", str(update_id), at)
        await store.execute("INSERT INTO inbound_messages (channel, message_id, received_at) "
                            "VALUES ('whatsapp', ?, ?)", f"SM{update_id}", at)
        await store.execute(
            "INSERT INTO whatsapp_outbound (sid, channel, user_key, status, created_at, updated_at) "
            "VALUES (?, 'whatsapp', 'whatsapp:+447700900778', 'read', ?, ?)", f"SM-out-{update_id}", at, at)
    for subscription, (status, at) in enumerate((("sent", old), ("pending", old), ("sent", recent))):
        await store.execute(
            "INSERT INTO reminder_outbox (subscription_id, channel, user_key, kind, due_at, status, "
            "created_at, updated_at) VALUES (?, 'telegram', '43', 'water', ?, ?, ?, ?)",
            subscription, at, status, at, at)

    removed = await prune(store, load_settings(), NOW)

    assert removed["web chat users"] == 2 and removed["other users"] == 2
    assert await remaining(store, "SELECT channel, user_key FROM users") == [
        ("telegram", "43"), ("web", "web-came-back"), ("web", "web-last-week"),
        ("web", "web-one-message-today"), ("whatsapp", "whatsapp:+447700900778"),
    ]
    # A forgotten user's other rows went with them; a kept user's drink log of 10 days ago went on its own.
    assert await remaining(store, "SELECT user_key FROM water_log") == [
        ("web-came-back",), ("web-last-week",), ("web-one-message-today",)]
    assert await remaining(store, "SELECT user_key FROM reminder_subscriptions") == [("43",)]
    assert await remaining(store, "SELECT message_id FROM inbound_messages WHERE channel = 'telegram'") == [
        ("2",)]
    assert await remaining(store, "SELECT message_id FROM inbound_messages WHERE channel = 'whatsapp'") == [
        ("SM2",)]
    assert await remaining(store, "SELECT sid FROM whatsapp_outbound") == [("SM-out-2",)]
    assert await remaining(store, "SELECT status, updated_at FROM reminder_outbox") == [
        ("pending", old), ("sent", recent)]
    again = await prune(store, load_settings(), NOW)
    assert not any(again.values())


def test_the_prune_command_makes_the_bot_forget_a_silent_user(tmp_path: Path, content: Content) -> None:
    env = clean_env(tmp_path)
    with ChatProcess(env, "--user", "alice") as chat:
        first = chat.send("hi")["replies"]
        assert first[0]["text"] == content.messages.notice
        assert chat.send("hello again")["replies"][0]["text"] != content.messages.notice
    later = (datetime.now(UTC) + timedelta(days=366)).isoformat()
    done = run_command(env, "prune", "--now", later)
    assert done.returncode == 0 and "other users 1" in done.stdout
    with ChatProcess(env, "--user", "alice") as chat:  # a stranger again: the notice, nothing kept
        assert chat.send("hi")["replies"][0]["text"] == content.messages.notice


def test_serve_prunes_at_start(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    with ChatProcess(env, "--user", "bob") as chat:
        chat.send("hi")
    db = tmp_path / "bot.sqlite3"
    with sqlite3.connect(db) as conn:
        long_ago = (datetime.now(UTC) - timedelta(days=400)).timestamp()
        conn.execute("UPDATE users SET first_seen = ?, last_seen = ?", (long_ago, long_ago))
    with ServeProcess(env) as serve:
        def gone() -> bool:
            with sqlite3.connect(db) as conn:
                return conn.execute("SELECT COUNT(*) FROM users").fetchone() == (0,)
        assert wait_for(gone), "the user silent for 400 days is still stored"
        serve.stop()
        assert "retention: removed" in serve.read_output()


def wait_for(check: Callable[[], bool], limit: float = 30.0) -> bool:
    """Poll until `check` holds; the limit only stops a broken run from hanging."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


# -- "my data" shows every stored field -------------------------------------------------------


def columns_of(db: Path, table: str) -> list[tuple[str, str]]:
    """(name, declared type) of each column, as the database itself says."""
    with sqlite3.connect(db) as conn:
        return [(row[1], row[2].upper()) for row in conn.execute(f"PRAGMA table_info({table})")]


def walked_tables() -> list[str]:
    """The tables "my data" and "delete my data" walk: storage's own, then the features' (wiring)."""
    return [table.name for table in (*OWN_TABLES, *feature_tables(FEATURES))]


def tables_with_users(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t for t in tables if "user_key" in dict(columns_of(db, t))}


#: Columns the reminders feature reads back, so they need a value it understands.
READABLE = {"spec": '{"times": ["09:00"]}', "timezone": "UTC", "kind": "water", "day": "2026-11-30"}


def seed_every_column(db: Path, table: str, channel: str, user_key: str) -> dict[str, Any]:
    """One row of `table` for the user, every column filled with a value of its type."""
    values: dict[str, Any] = {}
    for name, kind in columns_of(db, table):
        if name in READABLE:
            values[name] = READABLE[name]
        elif name in ("channel", "user_key"):
            values[name] = channel if name == "channel" else user_key
        elif "INT" in kind:
            values[name] = 7
        elif "REAL" in kind or "DOUBLE" in kind:
            values[name] = datetime(2026, 11, 30, 8, 15, tzinfo=UTC).timestamp()
        else:
            values[name] = f"v-{name}"
    with sqlite3.connect(db) as conn:
        marks = ", ".join("?" * len(values))
        conn.execute(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({marks})", list(values.values()))
    return values


def test_my_data_shows_every_column_of_every_table_that_keeps_something(
    tmp_path: Path, content: Content
) -> None:
    labels = content.messages.my_data_texts.labels

    def label(name: str, table: str = "users") -> str:
        return labels.get(f"{table}.{name}") or labels.get(name) or name.replace("_", " ")

    env = clean_env(tmp_path)
    db = tmp_path / "bot.sqlite3"
    with ChatProcess(env, "--user", "dana") as chat:
        chat.send("hi")
        chat.send("delete my data")  # the bot now waits for a yes: a pending question
        user_tables = walked_tables()
        assert tables_with_users(db) == set(user_tables)  # every such table is also emptied by delete
        for table in user_tables[1:]:
            seed_every_column(db, table, "console", "dana")
        [reply] = chat.send("my data")["replies"]
    text = reply["text"]
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        row = dict(conn.execute("SELECT * FROM users WHERE user_key = 'dana'").fetchone())
    for name, _ in columns_of(db, "users"):
        assert f"• {label(name)}: " in text, f"users.{name} is not shown"
    last_message = datetime.fromtimestamp(row["last_inbound_at"], UTC).isoformat(timespec="seconds")
    assert f"• {label('last_inbound_at')}: {last_message}" in text
    assert f"• {label('pending')}: feature core, step delete" in text
    for table in user_tables[1:]:
        [line] = [line for line in text.splitlines() if line.startswith(f"• {label(table)}: ")]
        for name, kind in columns_of(db, table):
            if name not in ("channel", "user_key"):
                assert f" {label(name, table)} " in line, f"{table}.{name} is not shown"
                if "TEXT" in kind:
                    assert READABLE.get(name, f"v-{name}") in line
        if any("REAL" in kind for _, kind in columns_of(db, table)):
            assert "2026-11-30T08:15:00+00:00" in line  # times in words, not epoch seconds


# -- what the log keeps ------------------------------------------------------------------------


def test_the_log_holds_no_secret_no_message_text_and_no_whole_number(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    """Every channel at DEBUG, with a warning sign, a refused request and a flood: the whole log
    is read for anything that is not the bot's to keep."""
    number, words = "+447700900432", "plumtree zebra twitching"
    env = clean_env(tmp_path, LOG_LEVEL="DEBUG", TELEGRAM_BOT_TOKEN=telegram.token,
                    TELEGRAM_BASE_URL=telegram.base_url, TWILIO_ACCOUNT_SID=ACCOUNT,
                    TWILIO_AUTH_TOKEN=TWILIO_TOKEN, TWILIO_WHATSAPP_FROM=SANDBOX,
                    TWILIO_API_BASE_URL=f"http://127.0.0.1:{free_port()}")
    with ServeProcess(env, "--no-scheduler") as serve, httpx.Client(timeout=10) as http:
        bot = WhatsAppBot(serve, http, tmp_path / "bot.sqlite3")
        for text in (words, f"{words}: my face is drooping and I can't speak"):
            assert bot.say(number, text)[0]
            telegram.push(text_update(telegram.next_update_id(), 5550432, text))
            http.post(f"{serve.url}/api/chat", json={"user": "browser-key-0432", "text": text})
        telegram.wait_for(lambda: len(telegram.delivered(5550432)) >= 2)  # an answer, then the alert
        forged = {"MessageSid": "SM" + "9" * 32, "From": f"whatsapp:{number}", "To": SANDBOX, "Body": words}
        assert http.post(f"{serve.url}/whatsapp/webhook", data=forged,
                         headers={"X-Twilio-Signature": "forged"}).status_code == 403
        for _ in range(40):
            http.post(f"{serve.url}/api/chat", json={"user": "browser-key-0432", "text": words})
        serve.stop()
        log = serve.read_output()
    assert "throttled" in log and "telegram" in log and "whatsapp" in log  # the events are there
    for kept in (words, "drooping", number, number.lstrip("+"), telegram.token, TWILIO_TOKEN):
        assert kept not in log, f"the log holds {kept!r}"
