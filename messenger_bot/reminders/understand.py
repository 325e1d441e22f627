"""Typed answers to the reminder set-up, read as people write them.

Every word comes from flows/reminders.yaml (`understand`, `drinks`). A typed answer is
first rewritten into a small notation (digits, `h`, `m`, `every`, `to`, `from`, `am`, `pm`,
`N past H`, `N before H`), which the patterns below read; so a content editor adds
"every other hour" or another language's words without touching Python. Lists of words (yes, no,
"pause water", "I had 2 coffees") are read phrase by phrase, and a message with any word
left over is not an answer: it goes on to the FAQ or is asked again, never half-read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from messenger_bot.reminders.schedule import (
    offset_from_local_time,
    zone_for_offset,
    zone_named,
)
from messenger_bot.reminders.texts import ReminderTexts
from messenger_bot.text import normalise

#: Every 30 minutes at the most often, every 6 hours at the least.
SHORTEST, LONGEST = 30, 6 * 60
MAX_COUNT = 20
_CLOCK = r"(?P<{p}h>\d{{1,2}})(?:\s*[:.h]\s*(?P<{p}m>\d{{2}}))?\s*(?P<{p}x>am|pm)?"
_INTERVAL = re.compile(
    r"(?:every\s*)?(?P<n>\d+(?:\.\d+)?)?\s*(?P<unit>\bh|\bm)\b(?:\s*(?P<extra>\d{1,2})\s*m?\b)?"
)
_WINDOW = re.compile(
    rf"(?:\bfrom\s*{_CLOCK.format(p='a')}\s*(?:-|\bto\b|\band\b)|{_CLOCK.format(p='b')}\s*(?:-|\bto\b))"
    rf"\s*{_CLOCK.format(p='c')}"
)
_ONE_CLOCK = re.compile(
    rf"(?P<past>\d{{1,2}})\s*past\s*(?P<ph>\d{{1,2}})\s*(?P<px>am|pm)?"
    rf"|(?P<before>\d{{1,2}})\s*before\s*(?P<bh>\d{{1,2}})\s*(?P<bx>am|pm)?"
    rf"|{_CLOCK.format(p='c')}"
)
_OFFSET = re.compile(r"^(?:utc|gmt)?\s*(?P<sign>[+-])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?$")
_LIST_REST = re.compile(r"^(?:[\s,;&+/]|\band\b)*$")
_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*|[&+,]")


@dataclass(frozen=True)
class Window:
    start: time
    end: time


@dataclass(frozen=True)
class Report:
    """What a user said they drank: counts by drink ("water" for glasses of water)."""

    counts: dict[str, int]


class Reader:
    """Reads one typed answer; built once from the content, then pure."""

    def __init__(self, texts: ReminderTexts) -> None:
        words = texts.understand
        self.words = words
        #: The language's own city names for time zones, in the form typed text is compared in.
        self.places = {" ".join(normalise(k).split()): v for k, v in texts.places.items()}
        self._rewrite = {normalise(k): v for k, v in words.rewrite.items()}
        self._rewriter = _alternation(self._rewrite)
        self.yes = _phrases(words.yes)
        self.no = _phrases(words.no)
        self.fixed = _phrases(words.fixed_times)
        self.parts = {w: part for part, p in words.parts_of_day.items() for w in _phrases(p.words)}
        self._part_words = _alternation(self.parts)
        self._zone_fillers = _alternation(dict.fromkeys(_phrases(words.zone_fillers), ""))
        command: dict[str, Any] = dict.fromkeys(_phrases(words.command_fillers))
        command |= {k: ("kind", kind) for kind, ws in words.kinds.items() for k in _phrases(ws)}
        for verb in ("pause", "resume", "stop"):
            command |= {k: ("verb", verb) for k in _phrases(getattr(words, verb))}
        self._command = _Phrases(command)
        report: dict[str, Any] = dict.fromkeys(_phrases([*words.units, *words.report_fillers]))
        report |= {k: ("n", n) for k, n in words.amount_words.items()}
        report |= {k: ("drink", "water") for k in _phrases(words.water)}
        report |= {k: ("drink", d) for d, drink in texts.drinks.items() for k in _phrases(drink.words)}
        report |= {k: ("join", None) for k in _phrases(words.joiners)}
        report |= {k: ("verb", None) for k in _phrases(words.drank)}
        self._report = _Phrases(report)

    # -- the notation ------------------------------------------------------------

    def canonical(self, text: str) -> str:
        """'Every hour and a half' -> 'every 90 m'; '7am–11pm' -> '7 am - 11 pm'."""
        text = normalise(text).replace("–", "-").replace("—", "-")
        text = re.sub(r"\b([ap])\.m\.?", r"\1m", text)
        text = re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", text)
        text = self._rewriter.sub(lambda m: f" {self._rewrite[m.group(0)]} ", text)
        text = re.sub(r"(\d)\s+(\.\d)", r"\1\2", text)
        return " ".join(text.replace("?", " ").replace("!", " ").split())

    # -- answers -----------------------------------------------------------------

    def answer(self, text: str, vocabulary: frozenset[str]) -> bool:
        return _bare(text) in vocabulary

    def part_of_day(self, text: str) -> str | None:
        """'In the evening', or a short sentence naming one part of the day and no time."""
        bare = _bare(text)
        if bare in self.parts:
            return self.parts[bare]
        if any(ch.isdigit() for ch in bare) or len(bare.split()) > 8:
            return None
        named = {self.parts[m.group(0)] for m in self._part_words.finditer(bare)}
        return named.pop() if len(named) == 1 else None

    def interval(self, text: str) -> int | None:
        """Minutes between reminders ('every 2 hours', 'hourly', 'every 90 minutes')."""
        match = _INTERVAL.search(self.canonical(text))
        if not match:
            return None
        minutes = float(match["n"] or 1) * (60 if match["unit"] == "h" else 1)
        return round(minutes) + (int(match["extra"]) if match["extra"] and match["unit"] == "h" else 0)

    def window(self, text: str) -> Window | None:
        """Waking hours: 'from 7 to 23', '7am-11pm', '8 till 10pm', 'between 9 and 21'."""
        canonical = self.canonical(text)
        match = _WINDOW.search(canonical)
        if not match:
            return None
        start = _clock(match, "a") or _clock(match, "b")
        end = _clock(match, "c")
        if start is None or end is None:
            return None
        return Window(start, evening(end, match["cx"]))

    def clock(self, text: str) -> tuple[time, bool] | None:
        """One time of day ('9am', '21:30', 'half past 8', 'noon') and whether am/pm was said."""
        match = _ONE_CLOCK.fullmatch(self.canonical(text))
        return _one_clock(match) if match else None

    def times(self, text: str, pm: bool = False) -> tuple[time, ...] | None:
        """Several times ('9, 1pm and half past 6'); None when anything else is in the text.
        `pm`: asked about the afternoon or evening, '8' without am/pm is 20:00."""
        canonical = self.canonical(text)
        found = list(_ONE_CLOCK.finditer(canonical))
        rest = _ONE_CLOCK.sub(" ", canonical)
        clocks = [_one_clock(m) for m in found]
        if not found or not _LIST_REST.match(rest) or None in clocks:
            return None
        return tuple(sorted({evening(c[0], None) if pm and not c[1] else c[0] for c in clocks if c}))

    def zone(self, text: str, now: datetime) -> tuple[str, int | None] | None:
        """A zone and, when it came from the user's clock or an offset, its UTC offset in minutes."""
        bare = " ".join(self._zone_fillers.sub(" ", _bare(text)).split())
        if not bare:
            return None
        named = zone_named(bare, self.places)
        if named:
            return named, None
        offset = _OFFSET.match(bare)
        if offset:
            minutes = int(offset["h"]) * 60 + int(offset["m"] or 0)
            minutes = -minutes if offset["sign"] == "-" else minutes
        else:
            clock = self.clock(bare)
            if clock is None:
                return None
            minutes = offset_from_local_time(clock[0], now)
        zone = zone_for_offset(minutes)
        return (zone, minutes) if zone else None

    # -- at any time of day ---------------------------------------------------------

    def command(self, text: str) -> tuple[str, tuple[str, ...]] | None:
        """'pause water', 'resume', 'stop caffeine reminders' -> ('pause', ('water',))."""
        read = self._command.read(_bare(text))
        if not read or read[0][0] != "verb":
            return None
        verb, rest = read[0][1], read[1:]
        if any(kind != "kind" for kind, _ in rest):
            return None
        kinds = tuple(dict.fromkeys(k for _, k in rest))
        return None if verb == "stop" and not kinds else (verb, kinds)

    def report(self, text: str, asked: bool = False) -> Report | None:
        """'I had 2 coffees', 'had an espresso and a coke', 'I drank a glass of water'.
        `asked` (after "what did you have?"): 'a coffee and a tea' needs no 'I had'."""
        if "?" in text:
            return None  # "had coffee?" asks; it reports nothing
        read = self._report.read(_bare(text).replace("+", " + "))
        if read and read[0][0] == "verb":
            read = read[1:]
        elif not asked:
            return None
        counts: dict[str, int] = {}
        count: int | None = None
        for kind, value in read or ():
            if kind == "n":
                count = value if count is None else None
                if count is None:
                    return None
            elif kind == "drink":
                counts[value] = counts.get(value, 0) + (count or 1)
                count = None
            elif kind == "verb":
                return None
        if not counts or count is not None or max(counts.values()) > MAX_COUNT:
            return None
        return Report(counts)


def evening(end: time, suffix: str | None) -> time:
    """A waking day's end typed without am/pm before noon is the evening: 'until 10' is 22:00."""
    if suffix is None and 1 <= end.hour <= 11:
        return end.replace(hour=end.hour + 12)
    return end


class _Phrases:
    """Reads a text as a sequence of known phrases (longest first); None when a word is unknown."""

    def __init__(self, vocabulary: Mapping[str, Any]) -> None:
        self.vocabulary = {tuple(_TOKEN.findall(k)): v for k, v in vocabulary.items()}
        self.longest = max((len(k) for k in self.vocabulary), default=1)

    def read(self, text: str) -> list[Any] | None:
        tokens = _TOKEN.findall(text)
        out, i = [], 0
        while i < len(tokens):
            for size in range(min(self.longest, len(tokens) - i), 0, -1):
                key = tuple(tokens[i : i + size])
                if key in self.vocabulary:
                    value = self.vocabulary[key]
                    break
            else:
                if not tokens[i].isdecimal():
                    return None
                value, size = ("n", int(tokens[i])), 1
            if value is not None:
                out.append(value)
            i += size
        return out


def _bare(text: str) -> str:
    """Lower case, no end punctuation: 'Yes!' -> 'yes'."""
    return normalise(text).strip(" .!?,;:")


def _phrases(words: Iterable[str]) -> frozenset[str]:
    return frozenset(normalise(w) for w in words)


def _alternation(phrases: Mapping[str, str] | Iterable[str]) -> re.Pattern[str]:
    """Whole-word phrases, the longest first; an empty list matches nothing."""
    ordered = sorted(phrases, key=len, reverse=True)
    if not ordered:
        return re.compile(r"(?!x)x")
    body = "|".join(re.escape(p) for p in ordered)
    return re.compile(rf"(?<![\w'])(?:{body})(?![\w'])")


def _hour(hour: int, minute: int, suffix: str | None) -> time | None:
    if suffix:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _clock(match: re.Match[str], p: str) -> time | None:
    if match[f"{p}h"] is None:
        return None
    return _hour(int(match[f"{p}h"]), int(match[f"{p}m"] or 0), match[f"{p}x"])


def _one_clock(match: re.Match[str]) -> tuple[time, bool] | None:
    if match["past"] is not None:
        clock = _hour(int(match["ph"]), int(match["past"]), match["px"])
        return (clock, bool(match["px"])) if clock else None
    if match["before"] is not None:
        hour, minutes = int(match["bh"]), int(match["before"])
        if minutes >= 60 or hour < 1:
            return None
        clock = _hour(hour - 1 if hour > 1 or not match["bx"] else 12, 60 - minutes, match["bx"])
        return (clock, bool(match["bx"])) if clock else None
    clock = _clock(match, "c")
    return (clock, bool(match["cx"])) if clock else None
