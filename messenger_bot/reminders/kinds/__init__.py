"""Reminder kinds, one module each (water.py, caffeine.py): what a kind owns is there.

A kind's module has `reminder(texts, variant, caffeine_today)` (the message it sends),
`describe(texts, schedule)` (how My reminders names a schedule of it), `setup_label(texts)`
(its set-up button) and `async setup(conversation, turn, rest)` (its set-up's next step). Its
words are in flows/<lang>/reminders.yaml: its name (`kind_names`), its typed names
(`understand.kinds`), and its own sentences. Modules are imported when first used, so the
content loader can check the names without importing the conversation.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

#: Every reminder kind by name, with its module: the one list the content, the store and the
#: replies are checked against. A new kind is one module and one line here.
KINDS: dict[str, str] = {
    "water": "messenger_bot.reminders.kinds.water",
    "caffeine": "messenger_bot.reminders.kinds.caffeine",
}


class UnknownKind(ValueError):
    """A reminder kind the code does not have: in the database or the content, it is an error,
    never a reminder of some other kind."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"unknown reminder kind {kind!r} (known: {', '.join(KINDS)})")
        self.kind = kind


def names() -> tuple[str, ...]:
    return tuple(KINDS)


def module_of(kind: str) -> ModuleType:
    """The module of `kind`; UnknownKind for a kind the code lacks."""
    if kind not in KINDS:
        raise UnknownKind(kind)
    return import_module(KINDS[kind])
