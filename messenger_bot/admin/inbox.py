"""The unanswered-questions inbox: what people typed that the bot could not answer.

This is how content editors find what is missing. It keeps as little as it can:
personal details are scrubbed *before* a message is stored, no row names a user (so
"delete my data" has nothing here to find), times are rounded down to the hour, and
rows older than UNANSWERED_DAYS are deleted. Similar wordings are grouped (rapidfuzz)
when a message is stored, so the page and the CSV read groups, never compare texts.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from rapidfuzz import fuzz, process

from messenger_bot.engine import TurnOutcome
from messenger_bot.storage import Storage
from messenger_bot.text import normalise

log = logging.getLogger("messenger_bot.admin")

MAX_TEXT = 300
#: Two wordings at least this similar (0-100, token sort ratio after normalising) share a group.
SIMILAR = 78
#: How long a process trusts its copy of the groups before reading them again (other instances add some).
GROUPS_FRESH_SECONDS = 60.0
PAGE_GROUPS = 200

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LINK = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w{2,}")
#: Seven or more digits, with the spaces, dots, dashes and brackets people write phone numbers with.
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d(?:[\s().-]{0,2}\d){6,}")
_DIGITS = re.compile(r"\d{5,}")
_NOT_A_NAME = r"(?!(?:and|but|so|i|im|i'm|my|from|with|here|again|too|also|on|at|in|back|now|please|pls)\b)"
_NAME_WORD = r"[^\W\d_][\w'-]*"
_NAMED = re.compile(
    r"\b(my\s+name\s+is|my\s+name's|i\s+am\s+called|call\s+me|name\s*:)\s+"
    rf"{_NOT_A_NAME}{_NAME_WORD}(?:\s+{_NOT_A_NAME}{_NAME_WORD}){{0,2}}",
    re.IGNORECASE,
)
#: "I'm Sarah", "this is Tom": only before a capitalised word (a name, or sometimes not: we lose a word).
_INTRODUCED = re.compile(
    r"\b((?:[Ii]'m|[Ii]\s+am|[Tt]his\s+is|[Ii]t's)\s+)[A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+)?"
)


def scrub(text: str) -> str:
    """The message with e-mail addresses, links, handles, phone numbers, long digit runs and
    introduced names replaced by a placeholder, cut to a length an editor can read."""
    text = " ".join(text.split())[: MAX_TEXT * 2]
    text = _EMAIL.sub("[email]", text)
    text = _LINK.sub("[link]", text)
    text = _HANDLE.sub("[handle]", text)
    text = _PHONE.sub("[phone]", text)
    text = _DIGITS.sub("[number]", text)
    text = _NAMED.sub(lambda m: f"{m.group(1)} [name]", text)
    text = _INTRODUCED.sub(lambda m: f"{m.group(1)}[name]", text)
    return text[:MAX_TEXT]


def hour_of(moment: datetime) -> float:
    """Epoch seconds rounded down to the hour: enough for retention, too coarse to match a user."""
    stamp = moment.timestamp()
    return stamp - stamp % 3600


@dataclass(frozen=True)
class Group:
    id: int
    sample: str
    count: int
    last_at: datetime
    guess: str | None
    not_sure: int
    fallback: int


class Inbox:
    """Buffers unanswered questions from turns; `flush` groups and stores them (off the hot path)."""

    def __init__(self, days: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.days = days
        self.clock = clock
        self._pending: list[tuple[str, str, str | None, str, float]] = []
        self._groups: dict[int, str] = {}
        self._read_at: float | None = None

    def add(self, outcome: TurnOutcome) -> None:
        """Keep a scrubbed copy of a typed message the FAQ could not answer."""
        if outcome.text and outcome.faq and outcome.text.strip():
            text = scrub(outcome.text)
            self._pending.append((text, outcome.faq, outcome.guess, outcome.channel, hour_of(outcome.at)))

    async def flush(self, store: Storage) -> int:
        """Store what is buffered, each message in the group of its closest wording (or a new one)."""
        pending, self._pending = self._pending, []
        if not pending:
            return 0
        try:
            await self._load_groups(store)
            for text, outcome, guess, channel, at in pending:
                group = await self._group_for(store, text, at)
                await store.execute(
                    "INSERT INTO unanswered (group_id, text, outcome, guess, channel, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    group, text, outcome, guess, channel, at,
                )
        except Exception:
            self._read_at = None
            raise
        return len(pending)

    async def _load_groups(self, store: Storage) -> None:
        if self._read_at is not None and self.clock() - self._read_at < GROUPS_FRESH_SECONDS:
            return
        rows = await store.fetch("SELECT id, sample FROM unanswered_groups")
        self._groups = {int(r[0]): normalise(r[1]) for r in rows}
        self._read_at = self.clock()

    async def _group_for(self, store: Storage, text: str, at: float) -> int:
        wording = normalise(text)
        found = process.extractOne(wording, self._groups, scorer=fuzz.token_sort_ratio, score_cutoff=SIMILAR)
        if found is not None:
            return int(found[2])
        rows = await store.fetch(
            "INSERT INTO unanswered_groups (sample, created_at) VALUES (?, ?) RETURNING id", text, at
        )
        group = int(rows[0][0])
        self._groups[group] = wording
        return group

    async def purge(self, store: Storage, now: datetime) -> int:
        """Delete what is older than the retention, and groups left with no message."""
        cutoff = now.timestamp() - self.days * 86400
        removed = await store.execute("DELETE FROM unanswered WHERE received_at < ?", cutoff)
        await store.execute(
            "DELETE FROM unanswered_groups WHERE NOT EXISTS"
            " (SELECT 1 FROM unanswered u WHERE u.group_id = unanswered_groups.id)"
        )
        self._read_at = None
        if removed:
            log.info("inbox: removed %d unanswered question(s) older than %d days", removed, self.days)
        return removed

    async def groups(self, store: Storage, now: datetime, limit: int = PAGE_GROUPS) -> list[Group]:
        """The groups inside the retention, most asked first, each with the topic guessed most often."""
        rows = await store.fetch(
            "SELECT group_id, outcome, guess, COUNT(*), MAX(received_at) FROM unanswered"
            " WHERE received_at >= ? GROUP BY group_id, outcome, guess",
            now.timestamp() - self.days * 86400,
        )
        samples = {int(r[0]): r[1] for r in await store.fetch("SELECT id, sample FROM unanswered_groups")}
        tally: dict[int, dict[str, object]] = {}
        for group_id, outcome, guess, count, last in rows:
            entry = tally.setdefault(
                int(group_id), {"not_sure": 0, "fallback": 0, "last": 0.0, "guesses": {}}
            )
            entry[outcome] = int(entry.get(outcome, 0)) + int(count)  # type: ignore[call-overload]
            entry["last"] = max(float(entry["last"]), float(last))  # type: ignore[arg-type]
            if guess:
                guesses: dict[str, int] = entry["guesses"]  # type: ignore[assignment]
                guesses[guess] = guesses.get(guess, 0) + int(count)
        found = [_group(gid, samples.get(gid, ""), entry) for gid, entry in tally.items() if gid in samples]
        found.sort(key=lambda g: (-g.count, -g.last_at.timestamp()))
        return found[:limit]


def _group(group_id: int, sample: str, entry: dict[str, object]) -> Group:
    guesses: dict[str, int] = entry["guesses"]  # type: ignore[assignment]
    not_sure, fallback = int(entry["not_sure"]), int(entry["fallback"])  # type: ignore[call-overload]
    return Group(
        id=group_id,
        sample=sample,
        count=not_sure + fallback,
        last_at=datetime.fromtimestamp(float(entry["last"]), UTC),  # type: ignore[arg-type]
        guess=max(guesses, key=guesses.__getitem__) if guesses else None,
        not_sure=not_sure,
        fallback=fallback,
    )


def groups_csv(groups: list[Group]) -> str:
    """The inbox as CSV, one group a row; cells that a spreadsheet would run as a formula are quoted."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["count", "wording", "guessed_topic", "not_sure", "fallback", "last_seen_hour_utc"])
    for g in groups:
        writer.writerow([g.count, _cell(g.sample), g.guess or "", g.not_sure, g.fallback,
                         g.last_at.strftime("%Y-%m-%d %H:00")])
    return out.getvalue()


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
