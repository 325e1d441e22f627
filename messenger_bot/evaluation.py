"""Scoring development sets: how often triage alerts and typed questions land where they should.

`messenger-bot eval` and tests/test_eval.py both score through this module, so the command
a content editor runs and the test that guards the thresholds can never disagree on what
counts as a hit. Each line is one fresh user's first message to the real engine, on a
throw-away SQLite database: no line's state (a pending question, a menu) leaks into the next.

A file is `label<TAB>message` per line ('#' lines and blank lines are comments). Its kind
follows from its labels: all `alert`/`no` is a triage set; all topic ids (comma-separated, any
one accepted) is a topics set. Anything else is a `DevSetError` naming the file and the line.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from messenger_bot.content.schema import ROOT
from messenger_bot.conversation import Incoming, Reply
from messenger_bot.engine import Engine
from messenger_bot.runtime import Runtime
from messenger_bot.settings import Settings

Kind = Literal["triage", "topics"]
TRIAGE_LABELS = frozenset({"alert", "no"})
_TOPIC_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class DevSetError(Exception):
    """A file that cannot be scored; the message names the file and, where it can, the line."""


@dataclass(frozen=True)
class Case:
    """One line of a development set: what is accepted, and the message a person typed."""

    line: int
    accepted: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class DevSet:
    path: Path
    kind: Kind
    cases: tuple[Case, ...]


def read_devset(path: Path, topic_ids: Collection[str]) -> DevSet:
    """Parse a file, or raise DevSetError: malformed, mixed, unknown topic, or nothing to score."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # a BOM from a spreadsheet is not a label
    except (OSError, UnicodeDecodeError) as error:
        raise DevSetError(f"{path}: cannot read it ({error})") from None
    cases: list[Case] = []
    for number, line in enumerate(lines, 1):
        if line.strip() and not line.startswith("#"):
            cases.append(_parse_line(path, number, line, topic_ids))
    if not cases:
        raise DevSetError(f"{path}: no lines to score")
    kind = _kind(cases[0])
    for case in cases:
        if _kind(case) != kind:
            raise DevSetError(
                f"{path}:{case.line}: a {_kind(case)} line in a file that began as a {kind} set"
                f" (line {cases[0].line})"
            )
    return DevSet(path, kind, tuple(cases))


def _kind(case: Case) -> Kind:
    return "triage" if case.accepted[0] in TRIAGE_LABELS else "topics"


def _parse_line(path: Path, number: int, line: str, topic_ids: Collection[str]) -> Case:
    label, tab, message = line.partition("\t")
    if not tab or not message.strip():
        raise DevSetError(f"{path}:{number}: expected LABEL<TAB>message")
    accepted = tuple(part.strip() for part in label.split(","))
    if len(accepted) == 1 and accepted[0] in TRIAGE_LABELS:
        return Case(number, accepted, message)
    for topic in accepted:
        if not _TOPIC_ID.match(topic):
            raise DevSetError(f"{path}:{number}: {topic!r} is neither alert, no nor a topic id")
        if topic not in topic_ids:
            raise DevSetError(f"{path}:{number}: no topic {topic!r} in the content")
    return Case(number, accepted, message)


@dataclass(frozen=True)
class Result:
    """What the bot did with one case: "alert"/"no" for triage, else a topic id or a reply kind."""

    case: Case
    got: str
    offered: tuple[str, ...] = ()

    @property
    def hit(self) -> bool:
        return self.got in self.case.accepted


@dataclass(frozen=True)
class Ratio:
    hits: int
    total: int

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.hits + other.hits, self.total + other.total)

    def __str__(self) -> str:
        if not self.total:
            return "0/0"
        return f"{self.hits}/{self.total} = {100 * self.hits / self.total:.0f}%"


@dataclass(frozen=True)
class Score:
    devset: DevSet
    results: tuple[Result, ...]

    def _count(self, label: str) -> Ratio:
        lines = [r for r in self.results if r.case.accepted == (label,)]
        return Ratio(sum(r.got == "alert" for r in lines), len(lines))

    @property
    def recall(self) -> Ratio:
        """Alert lines that alerted: every one should."""
        return self._count("alert") if self.devset.kind == "triage" else Ratio(0, 0)

    @property
    def false_alarms(self) -> Ratio:
        """Calm ('no') lines that alerted all the same."""
        return self._count("no") if self.devset.kind == "triage" else Ratio(0, 0)

    @property
    def accuracy(self) -> Ratio:
        """Typed questions whose first topic answer is one the line accepts."""
        if self.devset.kind != "topics":
            return Ratio(0, 0)
        return Ratio(sum(r.hit for r in self.results), len(self.results))

    @property
    def misses(self) -> list[Result]:
        return [r for r in self.results if not r.hit]

    def report(self) -> list[str]:
        """The lines `messenger-bot eval` prints for this file: its figures, then every miss."""
        head = f"{self.devset.path} ({self.devset.kind}, {len(self.results)} lines)"
        if self.devset.kind == "triage":
            figures = [f"  triage recall: {self.recall}", f"  false alarms: {self.false_alarms}"]
        else:
            figures = [f"  topic accuracy: {self.accuracy}"]
        return [head, *figures, *(f"  {describe_miss(r)}" for r in self.misses)]


def describe_miss(result: Result) -> str:
    case = result.case
    if case.accepted == ("alert",):
        return f"line {case.line}: missed red flag: {case.message}"
    if case.accepted == ("no",):
        return f"line {case.line}: false alarm: {case.message}"
    offered = f", offered {', '.join(result.offered)}" if result.offered else ""
    return f"line {case.line}: got {result.got}{offered}, wanted {','.join(case.accepted)}: {case.message}"


def total(scores: Iterable[Score]) -> str:
    """One line over every file: the three figures added up."""
    scores = list(scores)
    recall = sum((s.recall for s in scores), Ratio(0, 0))
    alarms = sum((s.false_alarms for s in scores), Ratio(0, 0))
    accuracy = sum((s.accuracy for s in scores), Ratio(0, 0))
    return f"total: triage recall {recall}, false alarms {alarms}, topic accuracy {accuracy}"


def outcome(case: Case, kind: Kind, replies: list[Reply], not_sure: str) -> Result:
    """Triage: did any reply alert. Topics: the first topic reply's id, else what the bot did
    (with the topics it offered, when it said `not_sure`: a near miss reads differently)."""
    alerted = any(r.kind == "alert" for r in replies)
    if kind == "triage":
        return Result(case, "alert" if alerted else "no")
    topic = next((r.topic for r in replies if r.kind == "topic" and r.topic), None)
    if topic is not None:
        return Result(case, topic)
    got = "alert" if alerted else (replies[-1].kind if replies else "nothing")
    offered = tuple(b.payload for r in replies if r.text == not_sure for b in r.buttons if b.payload != ROOT)
    return Result(case, got, offered)


async def score(devset: DevSet, engine: Engine, channel: str = "console") -> Score:
    """Each case as a new user's first message, under a key no other case uses."""
    results = []
    for case in devset.cases:
        incoming = Incoming(channel, f"eval-{secrets.token_hex(8)}", text=case.message)
        replies = await engine.turn(incoming)
        results.append(outcome(case, devset.kind, replies, engine.messages.not_sure))
    return Score(devset, tuple(results))


async def evaluate(
    paths: Iterable[Path],
    settings: Settings,
    open_runtime: Callable[[Settings], Awaitable[Runtime]],
    channel: str = "console",
) -> list[Score]:
    """Read every file first (a bad one stops the run before any scoring), then score each
    against the configured content on a SQLite database that is deleted afterwards
    (`open_runtime`: wiring's, so the bot scored is the one that serves)."""
    with tempfile.TemporaryDirectory(prefix="messenger-bot-eval-") as scratch:
        database = f"sqlite:///{Path(scratch) / 'eval.sqlite3'}"
        runtime = await open_runtime(settings.model_copy(update={"database_url": database}))
        try:
            topic_ids = {node.id for node in runtime.content.topics}
            devsets = [read_devset(Path(path), topic_ids) for path in paths]
            return [await score(devset, runtime.engine, channel) for devset in devsets]
        finally:
            await runtime.close()
