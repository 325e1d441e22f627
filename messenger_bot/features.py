"""What a feature declares about itself, in one object, so the composition root can plug it in.

A feature (reminders, the diary, the operators' feedback buttons) owns its content files and
their schema, the tables that hold a user's rows, their retention rules and the typed commands
it offers in Telegram's menu. `wiring.py` lists the features; the content loader, the engine and
the command line then iterate over what they declare instead of naming them. The engine-side
behaviour (buttons, typed words, questions) is the `Feature` protocol beside the engine.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pydantic import BaseModel

from messenger_bot.content import Content
from messenger_bot.engine import Feature
from messenger_bot.settings import Settings
from messenger_bot.storage import Storage

#: Builds the engine's side of a feature over loaded content and an open store.
Build = Callable[[Content, Storage, Settings], Feature]


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class FeatureSpec:
    """One feature, as the rest of the bot sees it.

    `build`: where the function that builds its engine side lives, "package.module:function". It is
    imported when an engine is built, not when the spec is: `check-content` and the command line
    read a feature's files and tables without loading its conversation (and the diary's charts).
    `content`: the root files of flows/ it owns, each with the pydantic model that validates it
    (check-content reports their problems like any other file). `tables`: the tables that hold a
    user's rows, which "my data" shows and "delete my data" empties. `retention`: how long each
    of its tables keeps rows, in the words SECURITY.md repeats. `telegram_commands`: the typed
    commands it offers in Telegram's command menu. `enabled`: whether the settings switch it on.
    """

    name: str
    build: str
    content: Mapping[str, type[BaseModel]] = field(default_factory=lambda: MappingProxyType({}))
    tables: tuple[str, ...] = ()
    retention: Mapping[str, str] = field(default_factory=_empty)
    telegram_commands: tuple[str, ...] = ()
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


def build_features(
    specs: Iterable[FeatureSpec], content: Content, store: Storage, settings: Settings
) -> list[Feature]:
    """The engine's features the settings switch on, in the order declared."""
    return [builder(spec)(content, store, settings) for spec in specs if spec.enabled(settings)]


def builder(spec: FeatureSpec) -> Build:
    """The function `spec.build` names; an import that fails is raised, never skipped."""
    module, _, name = spec.build.partition(":")
    found: Build = getattr(importlib.import_module(module), name)
    return found
