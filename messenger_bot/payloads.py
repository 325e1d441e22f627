"""Button payloads as typed values: one frozen dataclass per kind of button a feature issues.

A payload travels to the provider and back ("do:diary:lip:12:upper"), so a tap needs no state
on the server; but a payload that comes back may be stale or forged, so it is read in one place,
field by field, and anything that does not fit is None rather than a half-parsed guess. A
subclass names its `prefix` ("do:diary:lip") and declares its fields, each `str` or `int`, in
order; `format()` writes them after the prefix, and `parse()` reads them back. A field with a
default may be left off the end, and is left off when it holds its default, so a button without
a choice ("do:diary:followup") stays as short as it was. Telegram carries at most 64 bytes of
callback data, so `format()` refuses a longer payload where it is made, not where it is sent.
A last field typed `Rest` holds the rest of the payload, separators and all: a payload that
carries another's tail ("do:reminders:water:from:2:8": the kind, then the step its module reads).
"""

from __future__ import annotations

import typing
from dataclasses import MISSING, dataclass, fields
from typing import Annotated, Any, ClassVar, Self

#: Telegram's limit on a button's callback data (bytes); the other channels carry more.
LIMIT = 64
SEPARATOR = ":"
#: What marks a last field that takes the rest of the payload (its separators included).
REST = "the rest of the payload"
Rest = Annotated[str, REST]


class PayloadError(ValueError):
    """A payload that could not travel: too long, or a field holding the separator."""


@dataclass(frozen=True)
class Payload:
    """The base of every typed payload; see the module's docstring."""

    prefix: ClassVar[str]

    def valid(self) -> bool:
        """A subclass's own check of its values (a known step, a positive id); parse() keeps it."""
        return True

    def format(self) -> str:
        values = [getattr(self, f.name) for f in fields(self)]
        defaults = [f.default for f in fields(self)]
        while values and values[-1] == defaults[len(values) - 1]:
            values.pop()  # a trailing default is left off
        text = SEPARATOR.join([self.prefix, *(str(v) for v in values)])
        single = values[:len(fields(self)) - 1] if _takes_rest(type(self)) else values
        if any(SEPARATOR in str(v) for v in single):
            raise PayloadError(f"a field of {text!r} holds {SEPARATOR!r}")
        if len(text.encode()) > LIMIT:
            raise PayloadError(f"{text!r} is longer than {LIMIT} bytes")
        return text

    @classmethod
    def parse(cls, text: str) -> Self | None:
        """The payload `text` is, or None when it is not one of this kind."""
        if text != cls.prefix and not text.startswith(cls.prefix + SEPARATOR):
            return None
        declared = fields(cls)
        most = len(declared) - 1 if _takes_rest(cls) else -1
        parts = text[len(cls.prefix) + 1:].split(SEPARATOR, most) if text != cls.prefix else []
        required = sum(1 for f in declared if f.default is MISSING)
        if not required <= len(parts) <= len(declared):
            return None
        kinds = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for field, part in zip(declared, parts, strict=False):
            value = _value(kinds[field.name], part)
            if value is None:
                return None
            values[field.name] = value
        found = cls(**values)
        return found if found.valid() else None


def _value(kind: Any, part: str) -> int | str | None:
    if kind is int:
        return int(part) if part.isascii() and part.isdecimal() else None
    return part


def _takes_rest(cls: type[Payload]) -> bool:
    declared = fields(cls)
    if not declared:
        return False
    hint = typing.get_type_hints(cls, include_extras=True)[declared[-1].name]
    return REST in getattr(hint, "__metadata__", ())
