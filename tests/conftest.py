"""Shared fixtures: the real content, a real SQLite file, the engine, and `chat --json`."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from messenger_bot.content import Content
from messenger_bot.engine import Engine
from messenger_bot.features import user_tables
from messenger_bot.storage import SQLiteStorage, Storage
from messenger_bot.storage.postgres import PostgresStorage
from messenger_bot.wiring import FEATURES, load_content
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.support.content_once import content_loaded_once
from tests.support.postgres import fresh_schema

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"
EVAL = Path(__file__).resolve().parent / "eval"


@pytest.fixture(scope="session", autouse=True)
def _content_parsed_once() -> Iterator[None]:
    """The same files on disk are parsed once per test process (tests/support/content_once.py)."""
    with content_loaded_once():
        yield


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(FLOWS)


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """Every test that uses the store runs on both backends; PostgreSQL in a fresh schema
    (skipped with the reason when no server answers, failed instead under CI=true)."""
    if request.param == "sqlite":
        store: Storage = SQLiteStorage(tmp_path / "bot.sqlite3")
        store.walk(user_tables(FEATURES))  # the tables "my data" walks, as wiring gives them
        await store.open()
        yield store
        await store.close()
        return
    async with fresh_schema() as (url, schema):
        store = PostgresStorage(url, schema=schema)
        store.walk(user_tables(FEATURES))
        await store.open()
        yield store
        await store.close()


@pytest.fixture
def engine(content: Content, store: Storage) -> Engine:
    return Engine(content, store)


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    """A fake Telegram Bot API on loopback (test_telegram.py has its own, a running bot)."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    """A fake Twilio REST API on loopback."""
    with FakeTwilio() as fake:
        yield fake


def bot_env_in(folder: Path) -> dict[str, str]:
    """An environment for a `messenger-bot` subprocess: its own database in `folder`, no
    credentials, and the time zone UTC (no country), so `chat`'s alert reads the same on every
    machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
    env["DATABASE_URL"] = f"sqlite:///{folder / 'bot.sqlite3'}"
    env["PYTHONUNBUFFERED"] = "1"
    env["TZ"] = "UTC"
    env["PID_DIR"] = str(folder / "run")  # serve's pid file for `reload`, out of the checkout
    return env


@pytest.fixture
def bot_env(tmp_path: Path) -> dict[str, str]:
    """`bot_env_in` the test's own temporary folder."""
    return bot_env_in(tmp_path)
