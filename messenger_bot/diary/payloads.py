"""The diary's buttons as typed payloads (messenger_bot/payloads.py): "do:diary:<what>:…".

Each kind is read back by its own class, so a stale or forged button is None, never a step
guessed from a half-split string. Entry ids are whole numbers and checked against the user who
tapped them by the feature; choice keys are checked against flows/diary.yaml there too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from messenger_bot.payloads import Payload

PREFIX = "do:diary"
#: The steps of a twitch entry a `Step` payload may name (feature.STEPS gives their order).
STEP_NAMES = ("lip", "side", "dur")


@dataclass(frozen=True)
class Log(Payload):
    """Log one twitch."""

    prefix: ClassVar[str] = f"{PREFIX}:log"


@dataclass(frozen=True)
class Step(Payload):
    """An answer to one question of an entry: "do:diary:lip:12:upper" (no key: ask it)."""

    prefix: ClassVar[str] = PREFIX
    step: str
    entry: int
    key: str = ""

    def valid(self) -> bool:
        return self.step in STEP_NAMES


@dataclass(frozen=True)
class Trigger(Payload):
    """A trigger added to an entry, or "done"."""

    prefix: ClassVar[str] = f"{PREFIX}:trig"
    entry: int
    key: str = ""


@dataclass(frozen=True)
class Tried(Payload):
    """What they tried: no entry starts a new note; a key adds to it, "done" ends it."""

    prefix: ClassVar[str] = f"{PREFIX}:tried"
    entry: int = 0
    key: str = ""


@dataclass(frozen=True)
class FollowUp(Payload):
    """The check-in: no choice offers it, a delay (days) sets it, "no" cancels it."""

    prefix: ClassVar[str] = f"{PREFIX}:followup"
    choice: str = ""


@dataclass(frozen=True)
class Zone(Payload):
    """The check-in in UTC, for a user who gave no time zone: "do:diary:zone:7:utc"."""

    prefix: ClassVar[str] = f"{PREFIX}:zone"
    days: int
    zone: str


@dataclass(frozen=True)
class Answer(Payload):
    """An answer to the check-in: better, same, worse, new."""

    prefix: ClassVar[str] = f"{PREFIX}:answer"
    key: str


@dataclass(frozen=True)
class Summary(Payload):
    """The summary for a doctor, with its chart and PDF."""

    prefix: ClassVar[str] = f"{PREFIX}:summary"


@dataclass(frozen=True)
class Week(Payload):
    """My week: water and caffeine beside the twitches."""

    prefix: ClassVar[str] = f"{PREFIX}:week"
