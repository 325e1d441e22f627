"""Assemble the bot from settings: content, store and engine, opened and closed as one.

Every entry point (serve, chat, send-due) starts here, so they all run the same
engine over the same content and database.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from messenger_bot.content import Content, load_content
from messenger_bot.engine import Engine, Feature
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

    async def close(self) -> None:
        await self.store.close()


def features(content: Content, store: Storage, settings: Settings) -> list[Feature]:
    """The optional parts of the bot; each owns its buttons, words and questions."""
    from messenger_bot.diary.feature import DiaryFeature
    from messenger_bot.reminders.feature import RemindersFeature

    found: list[Feature] = [
        RemindersFeature(content, store), DiaryFeature(content, store, settings.public_base_url)
    ]
    if settings.feedback:
        from messenger_bot.admin.feedback import FeedbackFeature

        found.append(FeedbackFeature(content, store))
    return found


async def open_runtime(settings: Settings) -> Runtime:
    """Load content (refusing broken content), open the store, build the engine."""
    content = load_content(settings.content_dir)
    store = storage_for(settings.database_url)
    await store.open()
    engine = Engine(content, store, features(content, store, settings))
    return Runtime(settings, content, store, engine)
