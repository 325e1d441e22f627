"""What a feature declares about itself, in one object, so the composition root can plug it in.

A feature (reminders, the diary, the operators' feedback buttons) owns its content files and
their schema, the tables that hold a user's rows, their retention rules and how old rows expire,
the commands it offers in Telegram's menu, its background jobs and its command-line commands.
`wiring.py` lists the features; the content loader, storage, retention, the engine, `serve` and
the command line then iterate over what they declare instead of naming them. The engine-side
behaviour (buttons, typed words, questions) is the `Feature` protocol beside the engine.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from messenger_bot.content import Content
from messenger_bot.engine import Feature
from messenger_bot.settings import Settings
from messenger_bot.storage import Storage, UserTable
from messenger_bot.storage.base import ts

#: Builds the engine's side of a feature over loaded content and an open store.
Build = Callable[[Content, Storage, Settings], Feature]


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Expiry:
    """How a table forgets old rows on its own, beside going with their user: the rows matching
    `condition` go, by their `key` columns; its one `?` is the moment `age` (from the settings)
    before the pass, as epoch seconds, or as an ISO date when the table counts days (`in_days`)."""

    table: str
    key: str
    condition: str
    age: Callable[[Settings], timedelta]
    in_days: bool = False

    def cutoff(self, settings: Settings, now: datetime) -> float | str | None:
        moment = now - self.age(settings)
        return moment.date().isoformat() if self.in_days else ts(moment)


@dataclass(frozen=True)
class FeatureSpec:
    """One feature, as the rest of the bot sees it.

    `build`: where the function that builds its engine side lives, "package.module:function". It is
    imported when an engine is built, not when the spec is: `check-content` and the command line
    read a feature's files and tables without loading its conversation (and the diary's charts).
    `content`: the root files of flows/ it owns, each with the pydantic model that validates it
    (check-content reports their problems like any other file). `tables`: the tables that hold a
    user's rows, which "my data" shows and "delete my data" empties (in the order deletes need:
    they go backwards). `retention`: how long each of its tables keeps rows, in the words
    SECURITY.md repeats; `expiries`: the retention pass's rules for them. `keeps_user`: an SQL
    condition on `users` under which a silent messaging user is kept (a reminder still on).
    `telegram_commands`: the commands it offers in Telegram's command menu, named only: their
    words are content (flows/telegram.yaml), checked to be there. `jobs`: where the factories of
    its background jobs live, "module:name", each called with the settings and wiring's
    `senders_for`; `cli`: where the function that adds its command-line commands lives, called
    with the subcommands and wiring's runner (both imported only when used, like `build`).
    `enabled`: whether the settings switch it on.
    """

    name: str
    build: str
    content: Mapping[str, type[BaseModel]] = field(default_factory=lambda: MappingProxyType({}))
    tables: tuple[UserTable, ...] = ()
    retention: Mapping[str, str] = field(default_factory=_empty)
    expiries: tuple[Expiry, ...] = ()
    keeps_user: str | None = None
    telegram_commands: tuple[str, ...] = ()
    jobs: tuple[str, ...] = ()
    cli: str | None = None
    enabled: Callable[[Settings], bool] = lambda settings: True


def content_files(specs: Iterable[FeatureSpec]) -> dict[str, type[BaseModel]]:
    """Every feature's content files and schemas, by file name; two features never share one."""
    files: dict[str, type[BaseModel]] = {}
    for spec in specs:
        for name, model in spec.content.items():
            if name in files:
                raise ValueError(f"content file {name} is claimed by two features (one is {spec.name})")
            files[name] = model
    return files


def user_tables(specs: Iterable[FeatureSpec]) -> list[UserTable]:
    """Every feature's user tables, switched on or not (a switched-off feature's rows are still
    the user's), in the order declared."""
    return [table for spec in specs for table in spec.tables]


def build_features(
    specs: Iterable[FeatureSpec], content: Content, store: Storage, settings: Settings
) -> list[Feature]:
    """The engine's features the settings switch on, in the order declared."""
    return [builder(spec)(content, store, settings) for spec in specs if spec.enabled(settings)]


def builder(spec: FeatureSpec) -> Build:
    """The function `spec.build` names; an import that fails is raised, never skipped."""
    found: Build = resolve(spec.build)
    return found


def resolve(path: str) -> Any:
    """What "package.module:name" names; an import that fails is raised, never skipped."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)
