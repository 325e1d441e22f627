"""Privacy promises (SECURITY.md), checked the way the world would check them.

A deleted user leaves nothing that late provider callbacks can bring back; every table has a
retention and old rows go; "my data" shows every stored field; no secret is printed when a
setting is wrong or a start fails.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from messenger_bot.channels.whatsapp_store import WhatsAppStore
from messenger_bot.storage.base import Storage, UserState
from tests.support.server import ServeProcess

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
