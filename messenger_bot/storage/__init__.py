"""Where the bot keeps state: SQLite by default, PostgreSQL by `DATABASE_URL`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

from messenger_bot.storage.base import BLOCKED, STOPPED, Storage, UserState, UserTable
from messenger_bot.storage.postgres import PostgresStorage
from messenger_bot.storage.sqlite import SQLiteStorage

DEFAULT_DATABASE_URL = "sqlite:///data/messenger-bot.sqlite3"

__all__ = [
    "BLOCKED", "DEFAULT_DATABASE_URL", "STOPPED", "Storage", "UserState", "UserTable", "open_storage",
    "storage_for",
]


def storage_for(url: str, tables: Sequence[UserTable] = ()) -> Storage:
    """The store a `DATABASE_URL` names: sqlite:///relative/path, sqlite:////abs/path, postgresql://…;
    "my data" and "delete my data" walk its own user tables and `tables` (the features')."""
    store = _store_for(url)
    store.walk(tables)
    return store


def _store_for(url: str) -> Storage:
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if not path or path == "/":
            raise ValueError("a sqlite URL needs a file path, e.g. sqlite:///data/bot.sqlite3")
        return SQLiteStorage(Path(path[1:]))  # sqlite:///rel/path and sqlite:////abs/path
    if parsed.scheme in {"postgres", "postgresql"}:
        return PostgresStorage(url)
    shown = f"{parsed.scheme}://…" if parsed.scheme else "a URL without a scheme"  # never the password
    raise ValueError(f"DATABASE_URL must start with sqlite:/// or postgresql://, not {shown}")


async def open_storage(url: str, tables: Sequence[UserTable] = ()) -> Storage:
    store = storage_for(url, tables)
    await store.open()
    return store
