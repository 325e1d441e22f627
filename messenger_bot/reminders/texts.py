"""The shape of flows/reminders.yaml: every sentence and label the reminders say.

Validated with the rest of the content at start, so a label too long for WhatsApp or a
placeholder spelt wrong stops the bot before a user sees it.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, model_validator

from messenger_bot import placeholders
from messenger_bot.content.schema import LABEL_LIMIT, TEXT_LIMIT
from messenger_bot.reminders.kinds import KINDS, UnknownKind

Label = Annotated[str, Field(min_length=1, max_length=LABEL_LIMIT)]
Sentence = Annotated[str, Field(min_length=1, max_length=TEXT_LIMIT)]
_CHECKIN = frozenset({"total", "limit"})

#: The placeholders each sentence may use; a sentence not named here may use none.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "saved": frozenset({"what", "next", "zone", "note"}),
    "done": frozenset({"count"}),
    "snoozed": frozenset({"time"}),
    "snooze_quiet": frozenset({"time"}),
    "tz_confirm_phone": frozenset({"zone", "time"}),
    "tz_confirm_offset": frozenset({"offset", "zone", "time"}),
    "tz_confirm_named": frozenset({"zone", "time"}),
    "list_line": frozenset({"what", "next", "zone"}),
    "list_line_paused": frozenset({"what", "reason"}),
    "logged": frozenset({"drink", "mg", "total", "limit"}),
    "logged_many": frozenset({"items", "mg", "total", "limit"}),
    "part_which": frozenset({"part"}),
    "every_minutes": frozenset({"minutes", "start", "end"}),
    "tally": frozenset({"total", "limit"}),
    "caffeine_when": frozenset({"limit"}),
    "paused": frozenset({"what"}),
    "resumed": frozenset({"what", "next"}),
    "stopped_one": frozenset({"what"}),
    "no_sender_note": frozenset({"channels"}),
    "every_hours": frozenset({"hours", "start", "end"}),
    "every_hour": frozenset({"start", "end"}),
    "at_times": frozenset({"times"}),
    "daily_at": frozenset({"time"}),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Words = tuple[Annotated[str, Field(min_length=1)], ...]


class Drink(_Strict):
    label: Label
    mg: int = Field(gt=0, le=1000)
    #: Shown beside the amount: where the number comes from, or that it is an estimate.
    note: str = ""
    #: What one and several are called in a typed log ("2 cups of coffee").
    one: str
    many: str
    #: What people type for it; each counts with this drink's amount.
    words: Words = ()


class PartOfDay(_Strict):
    #: How the bot names it when it asks "what time in the {part}?".
    name: str
    words: Words
    hours: tuple[Annotated[int, Field(ge=0, le=23)], ...] = Field(min_length=1, max_length=6)


class Understand(_Strict):
    """The words typed answers are read with (understand.py says how each list is used)."""

    rewrite: dict[str, str]
    yes: Words
    no: Words
    fixed_times: Words
    parts_of_day: dict[str, PartOfDay]
    zone_fillers: Words
    pause: Words
    resume: Words
    stop: Words
    kinds: dict[str, Words]
    command_fillers: Words
    drank: Words
    water: Words
    amount_words: dict[str, Annotated[int, Field(ge=1, le=10)]]
    units: Words
    joiners: Words
    report_fillers: Words
    commands: dict[str, str]


class DayWords(_Strict):
    """How a time on another day is written: "tomorrow {time}", "{day} {time}" with the weekday's
    short name (Monday first)."""

    tomorrow: Sentence
    other_day: Sentence
    weekdays: tuple[Label, Label, Label, Label, Label, Label, Label]

    @model_validator(mode="after")
    def _check(self) -> DayWords:
        problems = [found for key, text, names in (
            ("tomorrow", self.tomorrow, {"time"}), ("other_day", self.other_day, {"day", "time"}),
        ) if (found := placeholders.problem(key, text, names))]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class MyData(_Strict):
    """What "my data" calls the reminders' rows: a subscription by its kind ("{kind} reminders"),
    and today's drinks."""

    reminder: Sentence
    today_label: Label
    today: Sentence

    @model_validator(mode="after")
    def _check(self) -> MyData:
        problems = [found for key, text, names in (
            ("reminder", self.reminder, {"kind"}), ("today", self.today, {"glasses", "mg"}),
        ) if (found := placeholders.problem(key, text, names))]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ReminderButtons(_Strict):
    done: Label
    snooze: Label
    stop_water: Label
    log_drink: Label
    tally: Label
    stop_caffeine: Label
    my_reminders: Label
    every_1: Label
    every_2: Label
    every_3: Label
    fixed_times: Label
    times_morning: Label
    times_spread: Label
    start_at: Label
    end_at: Label
    checkin_at: Label
    tz_yes: Label
    tz_other: Label
    tz_utc: Label
    pause: Label
    resume: Label
    change: Label
    stop: Label
    stop_all: Label
    water_setup: Label
    caffeine_setup: Label


class KindTexts(_Strict):
    """A kind's own words, for a kind of one daily time: its reminder's wordings (one is picked
    each time), its set-up button, the question that asks its time, and its Stop button."""

    reminders: tuple[Sentence, ...] = Field(min_length=1)
    setup: Label
    ask_time: Sentence
    stop: Label


class ReminderTexts(_Strict):
    """flows/reminders.yaml. `water` and `checkin_intro` are lists so the wording varies."""

    water: tuple[Sentence, ...] = Field(min_length=3)
    checkin: tuple[Sentence, ...] = Field(min_length=2)
    limit_mg: int = Field(gt=0)
    drinks: dict[str, Drink]
    sentences: dict[str, Sentence]
    buttons: ReminderButtons
    understand: Understand
    days: DayWords
    my_data: MyData
    #: The channels that can deliver a reminder, named for the note shown on the others.
    sender_channels: Sentence
    #: Each kind as the language names it ({what} on My reminders' buttons, {kind} in my data).
    kind_names: dict[str, Label]
    #: The words of kinds whose module keeps them here (a kind added later): by kind.
    kinds: dict[str, KindTexts] = Field(default_factory=dict)
    #: Places typed for a time zone, as the language writes them ("nueva york"), with their zone.
    places: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> ReminderTexts:
        problems = []
        missing = sorted((set(PLACEHOLDERS) | REQUIRED_SENTENCES) - set(self.sentences))
        if missing:
            problems.append(f"sentences: missing {', '.join(missing)}")
        allowed = [(k, t, PLACEHOLDERS.get(k, frozenset())) for k, t in self.sentences.items()]
        allowed += [("checkin", t, _CHECKIN) for t in self.checkin]
        for key, text, names in allowed:
            found = placeholders.problem(key, text, names)
            if found:
                problems.append(found)
        for text in self.water:
            if placeholders.PLACEHOLDER.search(text):
                problems.append(f"water reminder {text[:30]!r}…: takes no placeholders")
        if set(self.understand.kinds) != set(KINDS):
            problems.append(f"understand.kinds: must be exactly {', '.join(KINDS)}")
        if set(self.kind_names) != set(KINDS):
            problems.append(f"kind_names: must be exactly {', '.join(KINDS)}")
        problems += [f"places: {place!r}: {zone!r} is not a time zone"
                     for place, zone in self.places.items() if zone not in _zones()]
        if set(self.drinks) != set(DRINKS):
            problems.append(f"drinks: must be exactly {', '.join(DRINKS)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def say(self, key: str, **values: object) -> str:
        """A sentence with its placeholders filled (plain replace: user text never reaches format())."""
        return placeholders.fill(self.sentences[key].strip(), **values)


DRINKS = ("coffee", "tea", "soda", "energy")


def kind_of(name: str) -> str:
    """`name` if it is a reminder kind; UnknownKind otherwise."""
    if name not in KINDS:
        raise UnknownKind(name)
    return name


REQUIRED_SENTENCES = frozenset(
    {
        "water_how_often",
        "water_start",
        "water_end",
        "water_times",
        "water_times_bad",
        "often_bad",
        "start_bad",
        "end_bad",
        "end_before_start",
        "interval_range",
        "caffeine_one_time",
        "pick_number",
        "not_understood",
        "log_bad",
        "caffeine_when",
        "caffeine_time_bad",
        "tz_ask",
        "tz_bad",
        "tz_dst_caveat",
        "list_empty",
        "list_head",
        "stopped_all",
        "log_which",
        "near_limit",
        "over_limit",
        "snooze_none",
        "nothing_to_change",
        "paused_by_you",
    }
)


@cache
def _zones() -> frozenset[str]:
    """The time zone names, read from disk once (each call walks the whole tz database)."""
    return frozenset(available_timezones())
