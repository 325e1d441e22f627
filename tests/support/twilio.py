"""What the WhatsApp and SMS tests share: a Twilio account, signed posts, a running bot.

Webhook posts are signed the way Twilio signs them (twilio's own RequestValidator), for
the URL Twilio would call; state is read from the server's SQLite file.
"""

from __future__ import annotations

import os
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tenacity import wait_none
from tenacity.wait import wait_base
from twilio.request_validator import RequestValidator

from messenger_bot.delivery import Sender
from messenger_bot.settings import Settings, load_settings
from messenger_bot.storage import SQLiteStorage
from tests.fakes.twilio_api import FakeTwilio
from tests.support.server import ServeProcess

ACCOUNT = "AC" + "1" * 32
TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC = "https://bot.example.org"


def twilio_env(db: Path, fake: FakeTwilio, **extra: str) -> dict[str, str]:
    """A bot's environment with the Twilio account and the fake REST API, and no channel's sender."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
    env.update({
        "DATABASE_URL": f"sqlite:///{db}", "PYTHONUNBUFFERED": "1", "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_API_BASE_URL": fake.base_url, "PUBLIC_BASE_URL": "", **extra,
    })
    return env


def signature(url: str, fields: dict[str, str], token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, fields)


@dataclass
class Bot:
    """A running server, the URL Twilio signs for it, its database file, and its channel."""

    serve: ServeProcess
    signed_base: str
    db: Path
    env: dict[str, str]
    http: httpx.Client
    channel: str = "whatsapp"

    def post(self, path: str, fields: dict[str, str], *, sign_for: str | None = None,
             token: str = TOKEN, signature: str | None = None) -> httpx.Response:
        url = (sign_for or self.signed_base) + path
        headers = {}
        sig = signature if signature is not None else RequestValidator(token).compute_signature(url, fields)
        if sig:
            headers["X-Twilio-Signature"] = sig
        return self.http.post(self.serve.url + path, data=fields, headers=headers)

    def signed(self, path: str, fields: dict[str, str]) -> str:
        """The signature Twilio would send with `fields` posted to `path`."""
        return signature(self.signed_base + path, fields)

    def messages(self, fields: dict[str, str]) -> list[str]:
        """The messages of the webhook's TwiML answer to a signed post of `fields`."""
        response = self.post(f"/{self.channel}/webhook", fields)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        return [m.text or "" for m in ET.fromstring(response.text).iter("Message")]

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The database held by another writer, as a stuck job or a backup would hold it."""
        holder = sqlite3.connect(self.db, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()

    def paused_reason(self, user: str) -> str | None:
        with sqlite3.connect(self.db) as db:
            row = db.execute("SELECT paused_reason FROM users WHERE channel = ? AND user_key = ?",
                             (self.channel, user)).fetchone()
        return row[0] if row else None

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as db:
            return db.execute(sql, params).fetchall()


def settings_from(env: dict[str, str]) -> dict[str, str]:
    """The settings a sender in the test process needs to act as the bot in `env`."""
    wanted = ("TWILIO_", "WHATSAPP_", "SMS_", "PUBLIC_", "DATABASE_URL")
    return {k.lower(): v for k, v in env.items() if k.startswith(wanted)}


@contextmanager
def serving(env: dict[str, str], db: Path, channel: str, port: int | None = None) -> Iterator[Bot]:
    """`serve` running with `env`; Twilio signs for PUBLIC_BASE_URL when it is set (a proxy or a
    tunnel in front), else for the URL the app listens on."""
    with ServeProcess(env, "--no-scheduler", port=port) as serve, httpx.Client(timeout=10) as http:
        yield Bot(serve, env.get("PUBLIC_BASE_URL") or serve.url, db, env, http, channel=channel)


@asynccontextmanager
async def started(bot: Bot, kind: Callable[[Settings, wait_base], Sender],
                  **settings: str) -> AsyncIterator[Sender]:
    """A channel's sender in the test process, started on the bot's database, with no waits between
    tries; `settings` change the bot's own."""
    store = SQLiteStorage(bot.db)
    await store.open()
    sender = kind(load_settings(**{**settings_from(bot.env), **settings}), wait_none())
    try:
        await sender.start(store)
        yield sender
    finally:
        await sender.close()
        await store.close()
