"""The bot assembled: content, store and engine, opened and closed as one.

Every entry point (serve, chat, send-due) opens one through the composition root
(wiring.py), so they all run the same engine over the same content and database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from messenger_bot.content import Content, load_content
from messenger_bot.engine import Engine
from messenger_bot.features import FeatureSpec, build_features, content_files, user_tables
from messenger_bot.settings import Settings
from messenger_bot.storage import Storage, storage_for


class ChannelSettingsError(Exception):
    """A channel cannot start because of its settings (a refused token, a malformed sender):
    it stays down, named by /healthz, until the setting is fixed; trying again would not help."""


def database_busy(error: BaseException | None) -> bool:
    """SQLite locked by another writer for longer than the store waits: a moment's trouble, so the
    provider should deliver the message again (503), not receive an apology for it."""
    text = str(error)
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


@dataclass
class Runtime:
    settings: Settings
    content: Content
    store: Storage
    engine: Engine
    #: Told each due reminder's outcome; the scheduler's dispatcher shares this list.
    dispatch_observers: list[Any] = field(default_factory=list)
    #: The features wiring plugged in, kept so a content reload builds the same engine.
    features: Sequence[FeatureSpec] = ()

    def load(self) -> Content:
        """The content on disk, validated with every feature's files (raises ContentError)."""
        return load_content(self.settings.content_dir, content_files(self.features))

    def engine_for(self, content: Content) -> Engine:
        """A new engine over `content` with the same store and features."""
        return Engine(content, self.store, build_features(self.features, content, self.store, self.settings))

    async def close(self) -> None:
        await self.store.close()


class Background(Protocol):
    """Work that runs beside the requests (reminders, retention, the operators' counters)."""

    async def start(self, runtime: Runtime) -> None: ...

    async def stop(self) -> None: ...


async def open_runtime(
    settings: Settings, features: Sequence[FeatureSpec], content: Content | None = None
) -> Runtime:
    """Load content (refusing broken content), open the store, build the engine.

    `content`: already loaded and checked by the caller (`serve` checks it before it listens), so
    it is not read and validated a second time; loading is most of a start's cost."""
    if content is None:
        content = load_content(settings.content_dir, content_files(features))
    store = storage_for(settings.database_url, user_tables(features))
    await store.open()
    engine = Engine(content, store, build_features(features, content, store, settings))
    return Runtime(settings, content, store, engine, features=tuple(features))
