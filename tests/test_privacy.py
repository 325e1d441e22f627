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
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from messenger_bot.channels.whatsapp_store import WhatsAppStore
from messenger_bot.storage.base import Storage, UserState
from tests.fakes.telegram_api import FakeTelegram
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
    noticed = re.compile(r'(?i)"level": "(ERROR|WARNING)".*telegram')
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
