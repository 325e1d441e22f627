"""The reminders' buttons that carry another's tail, as typed payloads (messenger_bot/payloads.py).

A set-up button names its kind and the step that kind's module reads ("do:reminders:water:
from:2:8"); a time zone button carries the kind whose set-up it interrupted, so the set-up goes
on once the zone is known ("do:reminders:tz:water:Europe/London"). These strings are in users'
chats already: each class reads them and writes them byte for byte as the hand-made ones were.
A kind the code does not know (stale, or forged) is read as water's, where the handlers say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from messenger_bot.payloads import Payload, Rest
from messenger_bot.reminders.kinds import KINDS

PREFIX = "do:reminders"


@dataclass(frozen=True)
class Setup(Payload):
    """A kind's set-up: no step asks its first question; a step ("every:2", "at:1000") is its module's."""

    prefix: ClassVar[str] = PREFIX
    kind: str
    step: Rest = ""

    def valid(self) -> bool:
        return self.kind in KINDS


@dataclass(frozen=True)
class Zone(Payload):
    """A time zone chosen, then the set-up of `then` goes on; a zone that is not one asks again."""

    prefix: ClassVar[str] = f"{PREFIX}:tz"
    then: str = ""
    zone: Rest = ""


@dataclass(frozen=True)
class AskZone(Payload):
    """"Another zone": ask it by a city or the time, then the set-up of `then` goes on."""

    prefix: ClassVar[str] = f"{PREFIX}:tzask"
    then: Rest = ""


# -- a set-up's steps: the `step` of a Setup, each read by its own class ("every:2", "at:1000") --


@dataclass(frozen=True)
class Every(Payload):
    """Water, how often: hours ("2"), or minutes when not whole hours ("90m"); the start is asked next."""

    prefix: ClassVar[str] = "every"
    every: str


@dataclass(frozen=True)
class From(Payload):
    """Water, how often and from when ("8", "0830"); the end is asked next."""

    prefix: ClassVar[str] = "from"
    every: str
    start: str


@dataclass(frozen=True)
class Save(Payload):
    """Water, how often, from and until when: all there is to save."""

    prefix: ClassVar[str] = "save"
    every: str
    start: str
    end: str


@dataclass(frozen=True)
class Times(Payload):
    """Water at fixed times: which is asked next."""

    prefix: ClassVar[str] = "times"


@dataclass(frozen=True)
class At(Payload):
    """At these times of day ("0900-1200-1500"; one for a daily kind, "1000"): all there is to save."""

    prefix: ClassVar[str] = "at"
    times: str
